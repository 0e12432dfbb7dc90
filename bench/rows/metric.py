"""What a metric is (its direction, unit, category, how compare judges it and where it is shown) and how its
values read in tables. The table of metrics itself is bench/rows/schema.py METRICS."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

DIRECTIONS = ("higher", "lower")
# how `bench compare` judges a metric: must match exactly; size within 1 %; inside the baseline's 95 % interval;
# slower by a factor and a U test on the raw samples; one number without samples (peak memory, a rate found by
# search) beyond the factor, in its direction
VERDICTS = ("exact", "size", "interval", "timing", "factor")


def fmt_count(n) -> str:
    if n is None:
        return "-"
    for unit, div in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.2f}{unit}"
    return f"{n:.0f}"


def fmt_ms(v) -> str:  # 11,150 ms, 156 ms, 5.31 ms: never in exponent notation
    return "-" if v is None else f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def whole(v) -> str:  # terminal: a rate rounded to a whole number, "-" when not measured (0)
    return f"{v:.0f}" if v else "-"


def mib(v) -> str:  # terminal: bytes as whole MiB, "-" when not measured (0)
    return f"{v / 2**20:.0f}" if v else "-"


Format = str | Callable[[float], str]  # a format spec ("{:.3f}") or a function of the value


@dataclass(frozen=True)
class Metric:
    name: str  # the row field that holds it
    direction: str | None  # "higher" or "lower" is better; None: a setting the run was measured at, not ranked
    unit: str  # "fraction" (0-1), "params", "%", "bytes", "ms", "tokens/s", "tokens"
    # compare's categories ("--advisory timing,memory" names them): "accuracy", "params", "timing", "memory";
    # "workload" for the settings a measurement ran at
    category: str
    description: str
    type: type = float  # int: a count
    header: str = ""  # its column header in the report's tables (empty: its name)
    format: Format = "{:.4g}"  # its text in the report
    samples: str = ""  # the row field with the raw samples (ms) behind a timing (compare's U test reads them)
    verdict: str = ""  # how `bench compare` judges it (VERDICTS; empty: it does not)
    table: bool = False  # a column of the report's task x method table
    generation: bool = False  # a column of the report's generation-task table
    history: str = ""  # the title of its panel in the report's history figure (empty: no panel)
    terminal: str = ""  # its column header in the terminal summary (empty: not there)
    terminal_format: Format = ""  # its text there (empty: `format`)
    stand_in: str = ""  # the metric the terminal column shows for a run without this one (a generation task)
    kind: str = "run"  # the kind of row that holds it (KINDS); switch and serve rows declare it as a field too

    def __post_init__(self):
        if not self.header:
            object.__setattr__(self, "header", self.name)
        if self.direction not in (*DIRECTIONS, None):
            raise ValueError(f"metric {self.name}: direction {self.direction!r} is not one of {DIRECTIONS} or None")
        if self.verdict and self.verdict not in VERDICTS:
            raise ValueError(f"metric {self.name}: verdict {self.verdict!r} is not one of {VERDICTS}")
        if (self.verdict == "timing") != bool(self.samples):
            raise ValueError(f"metric {self.name}: a timing verdict needs raw samples, and samples need one")
        if (self.table or self.generation) and self.direction is None:
            raise ValueError(f"metric {self.name}: a table column marks the best value, so it needs a direction")

    def text(self, value, terminal: bool = False) -> str:
        """The value as the report (or, with `terminal`, the terminal summary) shows it; "-" for none."""
        if value is None:
            return "-"
        fmt = (self.terminal_format or self.format) if terminal else self.format
        return fmt(value) if callable(fmt) else fmt.format(value)

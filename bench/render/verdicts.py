"""compare's verdicts as text (pure): the markdown table `compare` prints, its counts line and the legend of
marks; history check prints values the same way."""

from __future__ import annotations

import math

from bench.analysis.compare import counts
from bench.analysis.gate import (
    BETTER,
    BY_FACTOR,
    FACTOR_ONLY,
    FAILING,
    INCOMPARABLE,
    LEGEND,
    MARKS,
    NOISE,
    WORSE,
    Verdict,
)
from bench.analysis.markdown import md_cell


def fmt_value(v) -> str:
    """A baseline's or current value as compare and history check print it: 4 significant digits, "" for none."""
    if v is None:
        return ""
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        return f"{v:.4g}" if abs(v) < 1e4 else f"{v:.0f}"
    return str(v)


def to_markdown(verdicts: list[Verdict], advisory: tuple[str, ...] = (), totals: dict[str, int] | None = None) -> str:
    """A table (worst first): each verdict's test and the smallest change it could flag ("can flag"), then the
    counts and the legend of marks."""
    lines = [
        "| | run | metric | baseline | current | ratio | test | can flag | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    order = {WORSE: 0, FAILING: 0, INCOMPARABLE: 1, BETTER: 2, FACTOR_ONLY: 3, NOISE: 4}
    for v in sorted(verdicts, key=lambda v: order[v.mark]):
        note = v.note + (" (advisory)" if v.regression and v.category in advisory else "")
        ratio = f"{v.ratio:.3f}" if v.ratio is not None else ""
        values = fmt_value(v.baseline), fmt_value(v.current)
        cells = [v.mark, v.run, v.metric, *values, ratio, v.test, v.detectable, note]
        lines.append("| " + " | ".join(map(md_cell, cells)) + " |")
    lines += ["", summary(totals or counts(verdicts)), legend()]
    return "\n".join(lines)


def summary(c: dict[str, int]) -> str:
    by_factor = c.get(BY_FACTOR, 0)
    return (
        f"{c[WORSE]} worse (+), {c[FAILING]} newly failing (!), {c[BETTER]} better (-), "
        f"{c[NOISE]} within noise (~), {c.get(FACTOR_ONLY, 0)} factor-only within the stricter factor (?), "
        f"{c[INCOMPARABLE]} incomparable (x); {by_factor} timing verdicts by factor alone (too few samples)"
    )


def legend() -> str:
    return "marks: " + ", ".join(f"`{m}` {LEGEND[m]}" for m in MARKS)

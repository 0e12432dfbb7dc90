"""Serve rows grouped by fleet (pure): which rows are the same experiment but for one setting (the number
of tasks, the rank, the model's width), and which fleet stands for a set of serve runs. The report's scaling
panels and the claims' evidence under load read them."""

from __future__ import annotations

from dataclasses import dataclass

from bench.rows import kinds
from bench.rows.schema import kind_of

MAX_P99_ERR_PCT = 25.0  # a rate at the SLO whose simulated p99 erred by more than this is no evidence
# the fewest requests of a real-time run at the rate at the SLO whose 99th percentile is more than their two
# slowest: a validation of the simulation's p99 (what the rate at the SLO rests on) needs at least this many
P99_REQUESTS = 200

# what makes two serve rows the same experiment, the strategy aside: the serve key but the strategy, with the
# model's hidden size, and the file a row was read from (bench/rows/kinds.py SERVE)
SETTING = kinds.SERVE.setting()


def serve_rows(rows: list[dict]) -> list[dict]:
    return [r for r in rows if kind_of(r) == "serve" and r.get("status") == "ok"]


def fleet_key(row: dict) -> tuple:
    return tuple(str(row.get(k)) for k in SETTING)


def widest_group(rows: list[dict], vary: str) -> tuple[list[dict], dict]:
    """The rows equal in every setting but `vary` whose `vary` takes the most distinct values (ties: the most
    rows, then the first seen), and the settings they hold fixed. ([], {}) when no group has two values."""
    fixed = [k for k in SETTING if k != vary and not (vary == "hidden_size" and k == "model")]  # a model per width
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(str(r.get(k)) for k in fixed), []).append(r)
    best = max(groups.values(), key=lambda g: (len({g_r.get(vary) for g_r in g}), len(g)), default=[])
    if len({r.get(vary) for r in best}) < 2:
        return [], {}
    return best, {k: best[0].get(k) for k in fixed}


def reference_fleet(rows: list[dict]) -> tuple[list[dict], dict]:
    """The rows of one fleet (every setting equal but the strategy) that stands for them all: the one with the
    most strategies, preferring N = 64 and rank 16 (the defaults), then the first seen."""
    fleets: dict[tuple, list[dict]] = {}
    for r in rows:
        fleets.setdefault(fleet_key(r), []).append(r)
    if not fleets:
        return [], {}
    best = max(
        fleets.values(), key=lambda g: (len({r["strategy"] for r in g}), g[0]["n_tasks"] == 64, g[0]["rank"] == 16)
    )
    return best, {k: best[0].get(k) for k in SETTING}


@dataclass(frozen=True)
class Validation:
    """How far a serve row's rate at the SLO can be trusted: the simulation's errors against real time."""

    p99_err_pct: float | None  # at 1.0x the rate at the SLO over >= P99_REQUESTS requests; None: no such run
    p50_err_pct: float | None  # the largest |p50 error| of the validation runs (any rate)
    requests: int | None  # requests behind the p99 error
    verified: bool  # the p99 error is known and within MAX_P99_ERR_PCT
    why: str  # one phrase: what the rate rests on


def validation(row: dict) -> Validation:
    """The simulation's error behind a serve row (pure): the row's own fields, else its validation runs (a run at
    fraction 1.0 with enough requests), else none (rows written before the 1.0x run: never validated on p99)."""
    p99, n = row.get("sim_p99_err_pct"), row.get("sim_p99_requests")
    if p99 is None:
        full = [
            c for c in row.get("validation") or [] if c.get("fraction", 0) >= 1.0 and c.get("p99_err_pct") is not None
        ]
        full = [c for c in full if (c.get("requests") or 0) >= P99_REQUESTS]
        p99, n = (full[0]["p99_err_pct"], full[0]["requests"]) if full else (None, None)
    p50 = row.get("sim_p50_err_pct_max")
    if p50 is None:
        errs = [abs(c["p50_err_pct"]) for c in row.get("validation") or [] if c.get("p50_err_pct") is not None]
        p50 = max(errs) if errs else None
    if p99 is None:
        fractions = sorted({c.get("fraction") for c in row.get("validation") or [] if c.get("fraction")})
        why = (
            f"never validated at 1.0x its rate on p99 (real-time runs only at {', '.join(f'{f:g}x' for f in fractions)}, on p50)"
            if fractions
            else "never validated against real time"
        )
        return Validation(None, p50, None, False, why)
    ok = abs(p99) <= MAX_P99_ERR_PCT
    why = f"simulated p99 {p99:+.0f} % off real time at 1.0x the rate ({n} requests)" + (
        "" if ok else f", beyond {MAX_P99_ERR_PCT:.0f} %"
    )
    return Validation(p99, p50, n, ok, why)


def unverified(load: dict[str, dict], names) -> list[tuple[str, str]]:
    """(strategy, why) for each of `names` in `load` (strategy -> serve row) whose rate is not verified."""
    return [(s, validation(load[s]).why) for s in names if s in load and not validation(load[s]).verified]

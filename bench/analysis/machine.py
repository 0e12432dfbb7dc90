"""Was the machine fit to measure on? (pure) Rows record the 1-minute load average at their start and end and
the CPUs they could use (bench/measure/machine.py); serve and switch rows record how far the base model's speed
drifted across the sweep (`base_drift_pct`). Rows written before these fields: the base model's own rows of one
sweep show the drift (its time should not depend on N, popularity or order), and the load is unknown.
state_warnings() is the one place that decides what is worth a warning; the report, `compare` and `history
check` print its lines."""

from __future__ import annotations

from bench.rows.schema import kind_of

MAX_DRIFT_PCT = 20.0  # the base model's speed moved more than this across one sweep: its ratios are suspect
# A run keeps every CPU busy itself (torch's threads, one per CPU), so the 1-minute load of an idle machine
# reads about the CPU count during a suite (2.04 on 2 CPUs): other work shows beyond it. Warned above this
# multiple of the CPUs (2.5 on 2 CPUs, 20 on 16).
LOAD_MARGIN = 1.25
NAMED = 6  # rows named in one warning before "and k more"


def row_label(row: dict) -> str:
    """A row as a warning names it: what it measured and when."""
    kind = kind_of(row)
    when = str(row.get("created_at") or "")[:16].replace("T", " ")
    if kind == "serve":
        what = f"serve {row.get('strategy')} N={row.get('n_tasks')} r={row.get('rank')}"
    elif kind == "switch":
        what = f"switch {row.get('strategy')} N={row.get('n_tasks')} batch {row.get('batch_size')} {row.get('order')}"
    else:
        what = f"run {row.get('task')}/{row.get('method')}"
    return f"{what} ({when})" if when else what


def _named(rows: list[dict]) -> str:
    names = [row_label(r) for r in rows[:NAMED]]
    more = len(rows) - NAMED
    return "; ".join(names) + (f"; and {more} more" if more > 0 else "")


def _span(values: list, fmt: str) -> str:
    lo, hi = min(values), max(values)
    return format(lo, fmt) if format(lo, fmt) == format(hi, fmt) else f"{lo:{fmt}}-{hi:{fmt}}"


def row_load(row: dict) -> float | None:
    """The higher of the load averages a row recorded at its start and end; None when it recorded neither."""
    loads = [row.get(k) for k in ("load_1m_start", "load_1m_end") if isinstance(row.get(k), (int, float))]
    return max(loads) if loads else None


def overloaded(rows: list[dict]) -> list[dict]:
    """Rows measured with the 1-minute load above LOAD_MARGIN times the CPUs they could use."""
    return [r for r in rows if row_load(r) is not None and r.get("cpus") and row_load(r) > LOAD_MARGIN * r["cpus"]]


def _beyond(value: float, limit: float) -> str:
    """A value above `limit` as a warning prints it: whole, unless that would round it down to the limit."""
    return f"{value:.0f}" if round(value) > limit else f"{value:.1f}"


def _sweep_key(row: dict) -> tuple:
    """Rows of one sweep that measured the base model on the same work (its time should not differ)."""
    if kind_of(row) == "serve":
        work = ("model", "layers", "dtype", "tokens_per_request", "max_batch")
    else:
        work = ("model", "batch_size", "length", "n_requests")
    return (kind_of(row), row.get("created_at"), row.get("machine_id"), *(str(row.get(k)) for k in work))


def derived_drift(rows: list[dict]) -> dict[tuple, float]:
    """For sweeps whose rows record no drift: 100 x (slowest / fastest - 1) of the base model's own rows of one
    sweep (serve: a full batch's time; switch: the workload's time) across N, popularity and order."""
    times: dict[tuple, list[float]] = {}
    for r in rows:
        if kind_of(r) not in ("serve", "switch") or r.get("strategy") != "base" or r.get("status") != "ok":
            continue
        t = r.get("batch_ms_full") if kind_of(r) == "serve" else r.get("total_ms_p50")
        if isinstance(t, (int, float)) and t > 0:
            times.setdefault(_sweep_key(r), []).append(t)
    return {k: 100 * (max(v) / min(v) - 1) for k, v in times.items() if len(v) > 1}


def row_drift(row: dict, derived: dict[tuple, float]) -> tuple[float | None, str]:
    """(the drift of the base model's speed behind a serve or switch row in %, "recorded" or "derived")."""
    if isinstance(row.get("base_drift_pct"), (int, float)):
        return row["base_drift_pct"], "recorded"
    return derived.get(_sweep_key(row)), "derived"


def drifted(rows: list[dict]) -> list[tuple[dict, float, str]]:
    derived = derived_drift(rows)
    out = []
    for r in rows:
        if kind_of(r) in ("serve", "switch") and r.get("status") == "ok":
            d, how = row_drift(r, derived)
            if d is not None and d > MAX_DRIFT_PCT:
                out.append((r, d, how))
    return out


def state_warnings(rows: list[dict]) -> list[str]:
    """One line per problem with the machine the rows were measured on (empty: none seen): load above the
    CPUs (beyond LOAD_MARGIN), the base model's speed drifting more than MAX_DRIFT_PCT across a sweep."""
    out = []
    hot = overloaded(rows)
    if hot:
        loads, cpus = [row_load(r) for r in hot], [r["cpus"] for r in hot]
        out.append(
            f"machine load: {len(hot)} row(s) measured with the 1-minute load average above {LOAD_MARGIN:g}x the "
            f"CPUs they had (load {_span(loads, '.1f')} on {_span(cpus, 'd')} CPUs; a run's own threads keep it near "
            f"the CPU count), timings shared the machine: {_named(hot)}"
        )
    drift = drifted(rows)
    if drift:
        worst = max(d for _, d, _ in drift)
        hows = sorted({how for *_, how in drift})
        out.append(
            f"machine drift: {len(drift)} row(s) whose sweep saw the base model's speed move more than "
            f"{MAX_DRIFT_PCT:.0f} % (up to {_beyond(worst, MAX_DRIFT_PCT)} %, {' and '.join(hows)} from the base model's rows), "
            f"ratios to the base model are suspect: {_named([r for r, *_ in drift])}"
        )
    return out


def unrecorded(rows: list[dict]) -> list[str]:
    """A line for the report when rows record no load average (written before rows recorded it): their load
    is unknown, so state_warnings cannot vouch for them either way."""
    measured = [r for r in rows if r.get("status") == "ok" or kind_of(r) in ("serve", "switch")]
    blind = [r for r in measured if row_load(r) is None]
    if not blind:
        return []
    return [
        f"machine load unknown: {len(blind)} of {len(measured)} row(s) record no load average "
        "(written before rows recorded it)"
    ]

"""The choice under a budget, per task: for a limit on one cost, the most accurate method that fits (pure).

For each cost (trainable parameters, adapter bytes, the run's own peak memory, batch-1 latency, training time) the
limits worth reading are the methods' own values: under each, the methods at or below it fit, and the
most accurate of them is the choice. Only the limits where the choice changes are kept (a staircase,
cheapest first). Each choice carries its margin over the next most accurate method that fits: the paired
gap and its 95 % CI where the two ran on the same seeds and examples (bench/analysis/paired.py), else the
two accuracy intervals, and a call read from those numbers only. A run the health checks flag (one class
answered, loss rose) is never read (health.healthy). Every choice names the runs it was read from.
Methods that ran under several settings in a task are told apart by their setting, as in the main table.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.analysis import aggregate as agg
from bench.analysis import health, paired
from bench.analysis.settings import setting_labels
from bench.rows.memory import OWN_PEAK, fmt_bytes, own_peak
from bench.rows.metric import fmt_count

# (metric, what it limits, formatter)
COSTS = (
    ("trainable_params", "trainable parameters", fmt_count),
    ("adapter_bytes", "adapter size", fmt_bytes),
    ("peak_mem_own_bytes", "peak memory (the run's own: less what was resident before the model)", fmt_bytes),
    ("infer_latency_ms_p50", "batch-1 latency p50", lambda v: f"{v:.1f} ms"),
    ("train_wall_s", "training time", lambda v: f"{v:.0f} s"),
)

NONE_TEXT = {  # a zero limit, in words
    "trainable_params": "no trainable parameters",
    "adapter_bytes": "no adapter",
    "train_wall_s": "no training",
}

# the call on a choice, read from its margin over the runner-up
ONLY, AHEAD, NOT_AHEAD, NO_INTERVAL = "only one fits", "clearly ahead", "not clearly ahead", "no interval"


@dataclass(frozen=True)
class Choice:
    task: str
    cost: str | None  # metric name; None: no limit
    limit: float | None  # the limit: the chosen method's own cost (None: no limit)
    limit_text: str  # "at most 148k trainable parameters"
    method: str
    accuracy: float
    runner_up: str | None
    runner_up_accuracy: float | None
    margin: float | None  # accuracy of method - runner_up
    ci: tuple[float, float] | None  # 95 % CI of the margin (paired where `paired_ci`)
    paired_ci: bool
    call: str  # ONLY, AHEAD, NOT_AHEAD or NO_INTERVAL
    verdict: str  # the whole sentence
    run_ids: tuple[str, ...]  # the rows it was read from: the method's, then the runner-up's


def _records(healthy: list[dict]) -> dict[str, dict[str, dict]]:
    """task -> method label -> {accuracy, ci, cost means, run ids} over healthy ok run rows."""
    runs = [r for r in agg.run_rows(healthy) if r.get("status") == "ok"]
    groups: dict[tuple, list[dict]] = {}
    for r, label in zip(runs, setting_labels(runs, group=("task", "method"))):
        groups.setdefault((r.get("task"), label), []).append(r)
    out: dict[str, dict[str, dict]] = {}
    for (task, label), rs in groups.items():
        acc_key = "accuracy" if all(r.get("accuracy") is not None for r in rs) else "score"
        if any(not isinstance(r.get(acc_key), (int, float)) for r in rs):
            continue
        lows = [r.get(f"{acc_key}_ci_low") for r in rs]
        highs = [r.get(f"{acc_key}_ci_high") for r in rs]
        rec = {
            "accuracy": agg.mean(r[acc_key] for r in rs),
            "ci": (min(lows), max(highs)) if None not in lows + highs else None,
            "plain": label == rs[0].get("method"),  # one setting: paired comparisons by method name apply
            "run_ids": tuple(str(r.get("run_id", "?")) for r in rs),
        }
        for metric, _, _ in COSTS:
            rec[metric] = agg.mean(own_peak(r) if metric == OWN_PEAK else r.get(metric) for r in rs)
        out.setdefault(task, {})[label] = rec
    return out


def _margin(healthy: list[dict], task: str, a: str, b: str, recs: dict) -> tuple[float, tuple | None, bool]:
    """(gap a - b, its 95 % CI, paired?): the paired comparison where one exists, else the plain gap."""
    if recs[a]["plain"] and recs[b]["plain"]:
        for c in paired.paired(healthy, (a, b), resamples=2000):
            if c.task == task and c.ci_low is not None:
                return c.gap, (c.ci_low, c.ci_high), True
    return recs[a]["accuracy"] - recs[b]["accuracy"], None, False


def _call(method: str, other: str | None, ci, recs) -> str:
    if other is None:
        return ONLY
    if ci is not None:
        return AHEAD if ci[0] > 0 else NOT_AHEAD
    a, b = recs[method].get("ci"), recs[other].get("ci")
    if a and b:
        return AHEAD if a[0] > b[1] else NOT_AHEAD
    return NO_INTERVAL


def _sentence(limit_text: str, method: str, acc: float, other: str | None, gap, ci, call: str, recs) -> str:
    head = f"{limit_text[0].upper()}{limit_text[1:]}: choose {method} ({acc:.3f})"
    if other is None:
        return head + ", the only method that fits."
    if ci is not None:
        return f"{head}, {gap:+.3f} over {other}, paired 95% CI [{ci[0]:+.3f}, {ci[1]:+.3f}]: {call}."
    if call == NO_INTERVAL:
        return f"{head}, {gap:+.3f} over {other}: no interval to tell it from noise."
    how = "intervals disjoint" if call == AHEAD else "intervals overlap"
    return f"{head}, {gap:+.3f} over {other} ({recs[other]['accuracy']:.3f}), {how}: {call}."


def _limit_text(metric: str | None, what: str, fmt, limit) -> str:
    if metric is None:
        return "with no limit"
    if limit == 0 and metric in NONE_TEXT:
        return NONE_TEXT[metric]
    if metric == "trainable_params":
        return f"at most {fmt(limit)} {what}"
    if metric == "train_wall_s":
        return f"at most {fmt(limit)} of training"
    return f"{what} at most {fmt(limit)}"


def choose(healthy: list[dict], task: str, recs: dict, fits: list[str], metric, limit_text: str, limit) -> Choice:
    """The most accurate of `fits` (a tie goes to the cheaper, then the first) with its margin over the next."""
    fits = sorted(fits, key=lambda m: (-recs[m]["accuracy"], (recs[m].get(metric) or 0) if metric else 0))
    best = fits[0]
    other = fits[1] if len(fits) > 1 else None
    gap, ci, is_paired = _margin(healthy, task, best, other, recs) if other else (None, None, False)
    call = _call(best, other, ci, recs)
    return Choice(
        task,
        metric,
        limit,
        limit_text,
        best,
        recs[best]["accuracy"],
        other,
        recs[other]["accuracy"] if other else None,
        gap,
        ci,
        is_paired,
        call,
        _sentence(limit_text, best, recs[best]["accuracy"], other, gap, ci, call, recs),
        recs[best]["run_ids"] + (recs[other]["run_ids"] if other else ()),
    )


def staircase(healthy: list[dict], task: str, recs: dict[str, dict], metric: str, what: str, fmt) -> list[Choice]:
    """The limits on `metric` where the best method that fits changes, cheapest first."""
    priced = {m: r for m, r in recs.items() if r.get(metric) is not None}
    out: list[Choice] = []
    for limit in sorted({r[metric] for r in priced.values()}):
        fits = [m for m, r in priced.items() if r[metric] <= limit]
        choice = choose(healthy, task, priced, fits, metric, _limit_text(metric, what, fmt, limit), limit)
        if not out or out[-1].method != choice.method:
            out.append(choice)
    return out


def decide(rows: list[dict]) -> list[dict]:
    """Per task: {"task", "top": the choice with no limit, "n_methods", "trainless": the methods that train
    nothing (no adapter), "costs": [{"cost", "metric", "choices": the staircase}]}."""
    healthy = health.healthy(rows)
    out = []
    for task, recs in _records(healthy).items():
        costs = []
        for metric, what, fmt in COSTS:
            choices = staircase(healthy, task, recs, metric, what, fmt)
            if choices:
                costs.append({"cost": what, "metric": metric, "choices": choices})
        out.append(
            {
                "task": task,
                "top": choose(healthy, task, recs, list(recs), None, "with no limit", None),
                "n_methods": len(recs),
                "trainless": sorted(m for m, r in recs.items() if r.get("trainable_params") == 0),
                "costs": costs,
            }
        )
    return out

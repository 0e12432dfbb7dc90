"""The choice under a budget, per task: for a limit on one cost, the most accurate method that fits (pure).

For each cost (trainable parameters, adapter bytes, peak memory, batch-1 latency, training time) the
limits worth reading are the methods' own values: under each, the methods at or below it fit, and the
most accurate of them is the choice. Only the limits where the choice changes are kept (a staircase,
cheapest first). Each choice carries its margin over the next most accurate method that fits: the paired
gap and its 95 % CI where the two ran on the same seeds and examples (bench/analysis/paired.py), else the
two accuracy intervals. A method whose runs the health checks flag (one class answered, loss rose) is
never chosen. Every sentence names the runs it was read from.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.analysis import aggregate as agg
from bench.analysis import health, paired
from bench.analysis.selection import main_rows
from bench.rows.schema import fmt_bytes, fmt_count

# (metric, what it limits, formatter)
COSTS = (
    ("trainable_params", "trainable parameters", fmt_count),
    ("adapter_bytes", "adapter size", fmt_bytes),
    ("peak_mem_bytes", "peak memory", fmt_bytes),
    ("infer_latency_ms_p50", "batch-1 latency p50", lambda v: f"{v:.1f} ms"),
    ("train_wall_s", "training time", lambda v: f"{v:.0f} s"),
)

NONE_TEXT = {
    "trainable_params": "no trainable parameters",
    "adapter_bytes": "no adapter",
    "train_wall_s": "no training",
}


@dataclass(frozen=True)
class Choice:
    task: str
    cost: str  # metric name
    limit_text: str  # "at most 148k trainable parameters"
    method: str
    accuracy: float
    runner_up: str | None
    margin: float | None  # accuracy of method - runner_up
    ci: tuple[float, float] | None  # 95 % CI of the margin (paired where `paired_ci`)
    paired_ci: bool
    verdict: str
    run_ids: tuple[str, ...]  # the rows the sentence was read from


def _records(rows: list[dict]) -> dict[str, dict[str, dict]]:
    """task -> method -> {accuracy, ci, cost means, run ids} over healthy ok main rows."""
    flagged = {(w["task"], w["method"], w["seed"]) for w in health.warnings(rows)}
    out: dict[str, dict[str, dict]] = {}
    groups: dict[tuple, list[dict]] = {}
    for r in main_rows(rows):
        if r.get("kind", "run") == "run" and r.get("status") == "ok":
            groups.setdefault((r.get("task"), r.get("method")), []).append(r)
    for (task, method), rs in groups.items():
        healthy = [r for r in rs if (task, method, r.get("seed")) not in flagged]
        acc_key = "accuracy" if all(r.get("accuracy") is not None for r in healthy) else "score"
        if not healthy or any(not isinstance(r.get(acc_key), (int, float)) for r in healthy):
            continue
        rec = {"accuracy": agg.mean(r[acc_key] for r in healthy), "n": len(healthy)}
        rec["run_ids"] = tuple(str(r.get("run_id", "?")) for r in healthy)
        lows = [r.get(f"{acc_key}_ci_low") for r in healthy]
        highs = [r.get(f"{acc_key}_ci_high") for r in healthy]
        rec["ci"] = (min(lows), max(highs)) if None not in lows + highs else None
        for metric, _, _ in COSTS:
            rec[metric] = agg.mean(r.get(metric) for r in healthy)
        out.setdefault(task, {})[method] = rec
    return out


def _margin(rows: list[dict], task: str, a: str, b: str, recs: dict) -> tuple[float, tuple | None, bool]:
    """(gap a - b, its 95 % CI, paired?): the paired comparison where one exists, else the plain gap."""
    for c in paired.paired(rows, (a, b), resamples=2000):
        if c.task == task and c.ci_low is not None:
            return c.gap, (c.ci_low, c.ci_high), True
    return recs[a]["accuracy"] - recs[b]["accuracy"], None, False


def _sentence(limit_text: str, method: str, acc: float, other: str | None, gap, ci, is_paired: bool, recs) -> str:
    head = f"With {limit_text}, choose {method} ({acc:.3f})"
    if other is None:
        return head + ": the only method that fits."
    if ci is not None:
        sure = "clearly ahead" if ci[0] > 0 else "not clearly ahead"
        return f"{head}: {gap:+.3f} over {other}, paired 95% CI [{ci[0]:+.3f}, {ci[1]:+.3f}], {sure}."
    a, b = recs[method].get("ci"), recs[other].get("ci")
    if a and b:
        sure = "intervals disjoint: clearly ahead" if a[0] > b[1] else "intervals overlap: not clearly ahead"
        return f"{head}: {gap:+.3f} over {other} ({other} {recs[other]['accuracy']:.3f}), {sure}."
    return f"{head}: {gap:+.3f} over {other}, no interval to tell it from noise."


def staircase(rows: list[dict], task: str, recs: dict[str, dict], metric: str, what: str, fmt) -> list[Choice]:
    """The limits on `metric` where the best method that fits changes, cheapest first."""
    priced = {m: r for m, r in recs.items() if r.get(metric) is not None}
    out: list[Choice] = []
    for limit in sorted({r[metric] for r in priced.values()}):
        fits = [m for m, r in priced.items() if r[metric] <= limit]
        fits.sort(key=lambda m: (-priced[m]["accuracy"], priced[m][metric]))  # a tie goes to the cheaper
        best = fits[0]
        if out and out[-1].method == best:
            continue
        other = fits[1] if len(fits) > 1 else None
        gap, ci, is_paired = _margin(rows, task, best, other, priced) if other else (None, None, False)
        limit_text = f"at most {fmt(limit)} {what}" if what != "training time" else f"at most {fmt(limit)} of training"
        if metric in ("peak_mem_bytes", "adapter_bytes") or "latency" in what:
            limit_text = f"{what} at most {fmt(limit)}"
        if limit == 0 and metric in NONE_TEXT:
            limit_text = NONE_TEXT[metric]
        out.append(
            Choice(
                task,
                metric,
                limit_text,
                best,
                priced[best]["accuracy"],
                other,
                gap,
                ci,
                is_paired,
                _sentence(limit_text, best, priced[best]["accuracy"], other, gap, ci, is_paired, priced),
                priced[best]["run_ids"] + (priced[other]["run_ids"] if other else ()),
            )
        )
    return out


def decide(rows: list[dict]) -> list[dict]:
    """Per task: {"task", "best": the unconstrained choice's sentence, "costs": [{"cost", "choices"}]}."""
    out = []
    for task, recs in _records(rows).items():
        costs = []
        for metric, what, fmt in COSTS:
            choices = staircase(rows, task, recs, metric, what, fmt)
            if choices:
                costs.append({"cost": what, "metric": metric, "choices": choices})
        top = max(recs, key=lambda m: recs[m]["accuracy"])
        out.append(
            {"task": task, "top": top, "top_accuracy": recs[top]["accuracy"], "costs": costs, "n_methods": len(recs)}
        )
    return out

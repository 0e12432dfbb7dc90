"""Rows -> one record per (task, method): means over seeds, the accuracy interval (pure).

One seed: the row's bootstrap 95 % CI. Several seeds: the envelope of their intervals (lowest low,
highest high), which covers both the test-set and the seed noise. A learning-rate sweep contributes
only its selected rate's rows (bench/analysis/selection.py), so rates are never averaged together.

Runs on random weights (shape-only models) have no accuracy: they are left out of those records and get their
own, per model, layers and dtype (speed_records).
"""

from __future__ import annotations

import math
from collections import defaultdict

from bench.analysis.selection import main_rows, speed_only
from bench.analysis.settings import setting_labels
from bench.rows.memory import OWN_PEAK, own_peak
from bench.rows.schema import kind_of, metrics


def run_rows(rows: list[dict]) -> list[dict]:
    return [r for r in rows if kind_of(r) == "run"]


def switch_rows(rows: list[dict]) -> list[dict]:
    return [r for r in rows if kind_of(r) == "switch"]


def _num(v) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v):
        return None
    return v


def mean(values) -> float | None:
    v = [x for x in map(_num, values) if x is not None]
    if not v:
        return None
    m = sum(v) / len(v)
    return int(m) if all(isinstance(x, int) for x in v) and m.is_integer() else m  # counts stay counts


def group(rows: list[dict]) -> dict[tuple[str, str], dict]:
    """(task, label) -> {"task", "method", "label", "n", "n_ok", "statuses", the mean of every declared metric (bench/rows/schema.py), accuracy_ci_low/high}.
    The label is the method, plus the settings that differ among the task's rows of that method (runs of
    different budgets are never averaged together). Order: first appearance, as the suite ran them. Swept
    methods: the selected learning rate's rows only."""

    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    runs = run_rows(main_rows(rows))
    for r, label in zip(runs, setting_labels(runs, group=("task", "method"))):
        groups[(r.get("task"), label)].append(r)
    out = {}
    for key, rs in groups.items():
        ok = [r for r in rs if r.get("status") == "ok"]
        first = (ok or rs)[0]
        rec = {
            "task": key[0],
            "method": first.get("method"),
            "label": key[1],
            "n": len(rs),
            "n_ok": len(ok),
            "statuses": sorted({r.get("status") for r in rs}),
            "base_method": first.get("base_method") or key[1],
            "method_params": first.get("method_params") or {},
            "metric": first.get("metric", "accuracy"),
        }
        for m in metrics():  # every declared metric
            rec[m.name] = mean(r.get(m.name) for r in ok)
        rec[OWN_PEAK] = mean(own_peak(r) for r in ok)  # rows written before it was recorded: peak - baseline
        lows = [x for x in (_num(r.get("accuracy_ci_low")) for r in ok) if x is not None]
        highs = [x for x in (_num(r.get("accuracy_ci_high")) for r in ok) if x is not None]
        rec["accuracy_ci_low"] = min(lows) if lows else None
        rec["accuracy_ci_high"] = max(highs) if highs else None
        out[key] = rec
    return out


# the columns of the speed tables of runs on random weights (terminal and report), in order
SPEED_METRICS = (
    "trainable_params",
    "adapter_bytes",
    "train_tokens_per_s",
    "train_step_ms_p50",
    "infer_tokens_per_s",
    "infer_tokens_per_s_batch",
    "infer_latency_ms_p50",
    "peak_mem_own_bytes",
)


def speed_records(rows: list[dict]) -> list[dict]:
    """One record per (model, layers, dtype, task, method label) of the runs on random weights, in order of first
    appearance: {"model", "layers", "dtype", "task", "method", "label", "n", "n_ok", "statuses"} and the mean over
    ok runs of every declared metric but the accuracy ones (which such runs lack)."""
    runs = [r for r in run_rows(rows) if speed_only(r)]
    keys = ("model", "layers", "dtype", "task")
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r, label in zip(runs, setting_labels(runs, group=(*keys, "method"))):
        groups[(*(r.get(k) for k in keys), label)].append(r)
    out = []
    for (model, layers, dtype, task, label), rs in groups.items():
        ok = [r for r in rs if r.get("status") == "ok"]
        rec = {"model": model, "layers": layers, "dtype": dtype, "task": task, "method": rs[0].get("method")}
        rec.update(label=label, n=len(rs), n_ok=len(ok), statuses=sorted({r.get("status") for r in rs}))
        for m in metrics(lambda m: m.category != "accuracy"):
            rec[m.name] = mean(r.get(m.name) for r in ok)
        rec[OWN_PEAK] = mean(own_peak(r) for r in ok)
        out.append(rec)
    return out


def by_task(rows: list[dict]) -> dict[str, dict[str, dict]]:
    """task -> label (the method, with its differing settings when it ran under several) -> record, for
    records with at least one ok run."""
    out: dict[str, dict[str, dict]] = {}
    for (task, label), rec in group(rows).items():
        if rec["n_ok"]:
            out.setdefault(task, {})[label] = rec
    return out


def disjoint_below(a: dict, b: dict) -> bool:
    """a's accuracy interval lies wholly below b's: a clear loss, not noise."""
    return (
        a.get("accuracy_ci_high") is not None
        and b.get("accuracy_ci_low") is not None
        and a["accuracy_ci_high"] < b["accuracy_ci_low"]
    )

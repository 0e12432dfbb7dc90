"""Rows -> one record per (task, method) (bench/analysis/aggregate.py): means of the ok rows over seeds, counts
kept as counts, the accuracy interval (one seed: its own; several: their envelope), failures counted, not
averaged; runs under other settings are records of their own."""

from __future__ import annotations

import pytest

from bench.analysis.aggregate import by_task, disjoint_below, group, mean, run_rows, switch_rows
from bench.rows.schema import metrics


def row(method="lora", seed=0, acc=0.7, task="t", status="ok", **over) -> dict:
    r = {
        "kind": "run",
        "task": task,
        "model": "m",
        "method": method,
        "seed": seed,
        "status": status,
        "budget": {"epochs": 1},
        "method_params": {"lr": 1e-3},
    }
    if status == "ok":
        r.update(
            accuracy=acc,
            accuracy_ci_low=round(acc - 0.05, 4),
            accuracy_ci_high=round(acc + 0.05, 4),
            trainable_params=1000,
            train_tokens_per_s=100.0 * (seed + 1),
        )
    return {**r, **over}


def test_means_over_seeds_and_the_interval_envelope():
    rows = [row(seed=0, acc=0.70), row(seed=1, acc=0.80), row(seed=2, acc=0.90), row("full", acc=0.6)]
    recs = group(rows)
    assert list(recs) == [("t", "lora"), ("t", "full")]  # first appearance
    lora = recs["t", "lora"]
    assert (lora["n"], lora["n_ok"], lora["statuses"], lora["method"]) == (3, 3, ["ok"], "lora")
    assert lora["accuracy"] == pytest.approx(0.8)
    assert lora["train_tokens_per_s"] == pytest.approx(200.0)
    assert lora["trainable_params"] == 1000 and isinstance(lora["trainable_params"], int)  # counts stay counts
    assert (lora["accuracy_ci_low"], lora["accuracy_ci_high"]) == (0.65, 0.95)  # lowest low, highest high
    full = recs["t", "full"]
    assert (full["accuracy"], full["accuracy_ci_low"], full["accuracy_ci_high"]) == (0.6, 0.55, 0.65)  # its own CI
    assert {m.name for m in metrics()} <= set(lora)  # every declared metric, None where not measured
    assert lora["peak_mem_bytes"] is None


def test_failed_rows_are_counted_not_averaged():
    rows = [row(seed=0, acc=0.6), row(seed=1, status="failed", error="boom"), row(seed=2, status="oom")]
    rec = group(rows)["t", "lora"]
    assert (rec["n"], rec["n_ok"], rec["statuses"]) == (3, 1, ["failed", "ok", "oom"])
    assert rec["accuracy"] == 0.6 and (rec["accuracy_ci_low"], rec["accuracy_ci_high"]) == (0.55, 0.65)
    only_failed = group([row(status="failed")])["t", "lora"]
    assert only_failed["n_ok"] == 0 and only_failed["accuracy"] is None and only_failed["accuracy_ci_low"] is None
    assert by_task([row(status="failed"), row("full", task="u")]) == {
        "u": {"full": group([row("full", task="u")])["u", "full"]}
    }


def test_runs_under_other_settings_are_other_records():
    rows = [row(acc=0.7), row(acc=0.9, budget={"epochs": 3}), row("full", acc=0.5)]
    recs = group(rows)
    assert set(recs) == {("t", "lora (epochs=1)"), ("t", "lora (epochs=3)"), ("t", "full")}
    assert recs["t", "lora (epochs=3)"]["accuracy"] == 0.9 and recs["t", "lora (epochs=1)"]["accuracy"] == 0.7
    assert set(by_task(rows)["t"]) == {"lora (epochs=1)", "lora (epochs=3)", "full"}


def test_a_sweep_contributes_only_its_selected_rate():
    swept = [
        row(acc=0.5, val_accuracy=0.9, lr_sweep=[1e-3, 1e-2]),
        row(acc=0.9, val_accuracy=0.5, lr_sweep=[1e-3, 1e-2], method_params={"lr": 1e-2}),
    ]
    rec = group(swept)["t", "lora"]
    assert rec["n"] == 1 and rec["accuracy"] == 0.5  # the best validation rate, not the best test accuracy


def test_mean_and_the_row_kinds():
    assert mean([1, 2, None, float("nan")]) == 1.5 and mean([2, 4]) == 3 and isinstance(mean([2, 4]), int)
    assert mean([True, None]) is None and mean([]) is None  # a bool is no number
    rows = [row(), {"kind": "switch", "strategy": "base"}, {"task": "old", "method": "lora"}]
    assert run_rows(rows) == [rows[0], rows[2]]  # rows without a kind are run rows
    assert switch_rows(rows) == [rows[1]]


def test_disjoint_below_is_a_clear_loss_only():
    low, high = {"accuracy_ci_low": 0.5, "accuracy_ci_high": 0.6}, {"accuracy_ci_low": 0.61, "accuracy_ci_high": 0.7}
    assert disjoint_below(low, high) and not disjoint_below(high, low)
    touching = {"accuracy_ci_low": 0.6, "accuracy_ci_high": 0.7}
    assert not disjoint_below(low, touching)  # overlapping at an end: noise
    assert not disjoint_below({"accuracy_ci_high": None}, high)

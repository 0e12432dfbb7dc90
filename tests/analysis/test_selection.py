"""main_rows (bench/analysis/selection.py): the rows the main numbers use keep, of each swept (task, model, method),
only the setting with the best mean validation accuracy; everything else passes through untouched, in order."""

from __future__ import annotations

from bench.analysis.selection import main_rows, selected_lrs

RATES = [1e-4, 1e-3, 1e-2]


def row(lr, seed=0, val=0.5, acc=0.5, task="t", method="lora", status="ok", swept=True, **over) -> dict:
    r = {
        "kind": "run",
        "task": task,
        "model": "m",
        "method": method,
        "seed": seed,
        "status": status,
        "method_params": {"lr": lr, "r": 8},
        "val_accuracy": val if status == "ok" else None,
        "accuracy": acc if status == "ok" else None,
        "run_id": f"{task}-{method}-{lr}-{seed}",
    }
    if swept:
        r["lr_sweep"] = RATES
    return {**r, **over}


def kept(rows) -> list[str]:
    return [r["run_id"] for r in main_rows(rows)]


def test_the_best_mean_validation_rate_is_kept_not_the_best_test_rate():
    rows = [
        row(1e-4, 0, val=0.60, acc=0.60),
        row(1e-3, 0, val=0.80, acc=0.70),
        row(1e-2, 0, val=0.95, acc=0.95),
        row(1e-4, 1, val=0.62, acc=0.61),
        row(1e-3, 1, val=0.78, acc=0.72),
        row(1e-2, 1, val=0.50, acc=0.90),  # best single seed and best test accuracy, worse mean validation (0.725)
    ]
    assert kept(rows) == ["t-lora-0.001-0", "t-lora-0.001-1"]  # in the rows' own order
    assert selected_lrs(rows) == {("t", "m", "lora"): 1e-3}
    flipped = [{**r, "val_accuracy": 1 - r["val_accuracy"]} for r in rows]
    assert kept(flipped) == ["t-lora-0.0001-0", "t-lora-0.0001-1"]  # the selection follows validation


def test_each_swept_group_is_selected_on_its_own():
    rows = [
        row(1e-3, val=0.9, task="a"),
        row(1e-2, val=0.7, task="a"),
        row(1e-3, val=0.6, task="b"),
        row(1e-2, val=0.8, task="b"),
        row(1e-3, val=0.1, task="a", method="full"),
        row(1e-2, val=0.2, task="a", method="full"),
    ]
    assert kept(rows) == ["a-lora-0.001-0", "b-lora-0.01-0", "a-full-0.01-0"]


def test_unswept_groups_and_switch_rows_pass_through():
    switch = {"kind": "switch", "strategy": "base", "run_id": "s"}
    plain = row(3e-2, method="prompt_tuning", swept=False, val=0.1)
    also_plain = row(1e-1, method="prompt_tuning", swept=False, val=0.9, seed=1)
    rows = [switch, plain, row(1e-3, val=0.4), row(1e-2, val=0.6), also_plain]
    assert kept(rows) == ["s", "t-prompt_tuning-0.03-0", "t-lora-0.01-0", "t-prompt_tuning-0.1-1"]
    assert main_rows([plain, switch]) == [plain, switch]


def test_failed_rows_never_win_and_an_all_failed_group_keeps_its_failures():
    rows = [row(1e-3, val=0.6), row(1e-2, status="failed"), row(1e-2, seed=1, status="failed")]
    assert kept(rows) == ["t-lora-0.001-0"]
    failed = [row(1e-3, status="failed"), row(1e-2, status="oom")]
    assert kept(failed) == ["t-lora-0.001-0", "t-lora-0.01-0"]  # so the failures still show


def test_a_tie_keeps_the_smaller_rate_and_no_validation_keeps_nothing_of_the_group():
    assert kept([row(1e-2, val=0.7), row(1e-3, val=0.7)]) == ["t-lora-0.001-0"]
    no_val = [row(1e-3, val=None), row(1e-2, val=None), row(1e-2, method="full", swept=False)]
    assert kept(no_val) == ["t-full-0.01-0"]  # the test set never picks a setting

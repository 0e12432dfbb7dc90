"""The report's first section: under each limit, the most accurate method that fits."""

from __future__ import annotations

import random

from bench.analysis.decide import decide


def row(method, params, acc, seed=0, n=400, **extra):
    rng = random.Random(f"{method}{seed}")
    k = round(acc * n)
    correct = ["1"] * k + ["0"] * (n - k)
    rng.shuffle(correct)
    return {
        "schema_version": 1,
        "kind": "run",
        "run_id": f"{method}-{seed}",
        "status": "ok",
        "task": "t",
        "model": "m",
        "method": method,
        "seed": seed,
        "accuracy": k / n,
        "accuracy_ci_low": k / n - 0.05,
        "accuracy_ci_high": k / n + 0.05,
        "test_correct": "".join(correct),
        "trainable_params": params,
        "adapter_bytes": params * 4,
        "train_steps": 10 if params else 0,
        **extra,
    }


def choices(result, cost="trainable_params"):
    (task,) = result
    return [ch for c in task["costs"] if c["metric"] == cost for ch in c["choices"]]


def test_staircase_names_the_best_that_fits_and_its_paired_margin():
    rows = [row("zero_shot", 0, 0.50), row("prompt_tuning", 1_000, 0.70), row("lora", 50_000, 0.80)]
    rows.append(row("full", 1_000_000, 0.80))  # no more accurate than lora, and dearer: never chosen
    got = choices(decide(rows))
    assert [c.method for c in got] == ["zero_shot", "prompt_tuning", "lora"]
    lora = got[-1]
    assert lora.runner_up == "prompt_tuning" and abs(lora.margin - 0.10) < 1e-9
    assert lora.paired_ci and lora.ci[0] < 0.10 < lora.ci[1]
    assert "choose lora (0.800)" in lora.verdict and "paired 95% CI" in lora.verdict
    assert lora.run_ids == ("lora-0", "prompt_tuning-0")
    assert got[0].runner_up is None and "only method that fits" in got[0].verdict


def test_a_close_call_is_not_clearly_ahead():
    rows = [row("prompt_tuning", 1_000, 0.700), row("lora", 50_000, 0.705)]
    lora = choices(decide(rows))[-1]
    assert lora.method == "lora" and lora.ci[0] < 0 < lora.ci[1]
    assert "not clearly ahead" in lora.verdict


def test_a_flagged_run_supports_no_choice():
    flagged = row("lora", 50_000, 0.80, label_counts=[200, 200], pred_counts=[400, 0])  # answers one class
    got = choices(decide([row("prompt_tuning", 1_000, 0.70), flagged]))
    assert [c.method for c in got] == ["prompt_tuning"]

"""The report's first section: under each limit, the most accurate method that fits."""

from __future__ import annotations

import random
import re

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


def test_the_choice_with_no_limit_and_the_call():
    rows = [row("zero_shot", 0, 0.50), row("prompt_tuning", 1_000, 0.70), row("lora", 50_000, 0.80)]
    (task,) = decide(rows)
    top = task["top"]
    assert (top.method, top.runner_up, top.call, top.cost, top.limit) == (
        "lora",
        "prompt_tuning",
        "clearly ahead",
        None,
        None,
    )
    assert task["trainless"] == ["zero_shot"] and task["n_methods"] == 3
    zero = choices(decide(rows))[0]
    assert zero.limit == 0 and zero.limit_text == "no trainable parameters" and zero.call == "only one fits"


def test_a_flagged_sweep_point_leaves_the_selected_run_of_its_seed_in():
    """A diverged sweep point (another rate, same seed) is not the selected run: the choice still reads it."""
    picked = row("lora", 50_000, 0.80, lr_sweep=[1e-3, 1e-2], method_params={"lr": 1e-3}, val_accuracy=0.8)
    diverged = row("lora", 50_000, 0.50, lr_sweep=[1e-3, 1e-2], method_params={"lr": 1e-2}, val_accuracy=0.5)
    diverged.update(run_id="lora-diverged", loss_curve=[0.5] * 20 + [0.9] * 20)
    got = choices(decide([row("prompt_tuning", 1_000, 0.70), picked, diverged]))
    assert [c.method for c in got] == ["prompt_tuning", "lora"] and got[-1].run_ids[0] == "lora-0"


def test_runs_of_different_settings_are_separate_choices():
    a = row("lora", 50_000, 0.80, budget={"epochs": 1})
    b = {**row("lora", 50_000, 0.70, budget={"epochs": 2}), "run_id": "lora-e2"}
    (task,) = decide([a, b])
    assert task["n_methods"] == 2 and task["top"].method == "lora (epochs=1)"
    assert not task["top"].paired_ci  # a paired test by method name would mix the two settings


def test_the_report_section_is_a_table_per_task_with_runs_in_tooltips():
    from bench.render.html import render
    from bench.render.sections import decide_section

    rows = [row("zero_shot", 0, 0.50), row("prompt_tuning", 1_000, 0.70), row("lora", 50_000, 0.80)]
    (t,) = decide_section(decide(rows))
    first, *rest = t["groups"]
    assert first["metric"] == "none" and first["choices"][0]["bound"] == "no limit"
    params = next(g for g in rest if g["metric"] == "trainable_params")["choices"]
    assert [c["bound"] for c in params] == ["none", "≤ 1.00k", "≤ 50.00k"]
    assert params[0]["no_adapter"] and params[-1]["margin_from"] == "paired"
    assert re.fullmatch(r"\+0\.100 \[\+0\.\d{3}, \+0\.\d{3}\]", params[-1]["margin"])
    html = render(rows)
    assert html.count('<table class="decide"') == 1
    tip = re.search(
        r'<tr data-cost="trainable_params" data-method="lora" data-runs="lora-0 prompt_tuning-0" title="([^"]+)"', html
    )
    assert tip and "choose lora (0.800)" in tip.group(1) and tip.group(1).endswith("Rows: lora-0, prompt_tuning-0")

"""Whole runs on a tiny Llama built in memory: a generation task learnt and scored, every PEFT method on a
label-word task, bf16 autocast; a generation task on an encoder is unsupported."""

from __future__ import annotations

import json

import pytest
import torch

from bench.config import Budget, Measure
from bench.execute.run import RunSpec, execute
from tests.conftest import write_tiny_generation_task, write_tiny_task
from tests.measure.test_generate import PEFT_METHODS


def _run(tmp_path, model_dir, task_path, method, **kw):
    spec = RunSpec(
        suite="t",
        task="tiny_gen",
        task_path=str(task_path),
        model=str(model_dir),
        method=method,
        seed=0,
        device="cpu",
        budget=kw.pop("budget", Budget(epochs=10, batch_size=8)),
        measure=Measure(
            gen_new_tokens=4, gen_requests=2, gen_repeats=1, latency_requests=2, infer_repeats=1, infer_batch_size=4
        ),
        params=kw.pop("params", {}),
        show_progress=False,
    )
    return execute(spec)


def test_generation_run_learns_the_answer_and_records_generation_metrics(tmp_path, tiny_llama_dir):
    task = write_tiny_generation_task(tmp_path / "tasks")
    zero = _run(tmp_path, tiny_llama_dir, task, "zero_shot")
    full = _run(tmp_path, tiny_llama_dir, task, "full", params={"lr": 3e-3})
    assert zero["status"] == full["status"] == "ok", (zero["error"], full["error"])
    assert zero["accuracy"] < 0.5 <= 0.9 <= full["accuracy"]  # exact match of the generated word
    assert full["metric"] == "exact_match" and full["score"] == full["accuracy"] and full["val_accuracy"] >= 0.8
    assert len(full["test_correct"]) == full["n_eval"] == 60
    assert full["samples"][0]["target"] in ("positive", "negative")
    for key in ("gen_ttft_ms_p50", "gen_tpot_ms_p50", "gen_tokens_per_s", "gen_tokens_per_s_batch", "rougeL", "bleu"):
        assert full[key] is not None and full[key] >= 0, key
    json.dumps(full)  # rows are plain JSON
    from bench.render.html import render
    from bench.render.terminal import summary_table

    html = render([zero, full])
    assert 'id="generation"' in html and f'data-value="{full["gen_ttft_ms_p50"]}"' in html
    assert f"{full['gen_tokens_per_s']:.0f}" in summary_table([zero, full])


def test_generation_task_on_an_encoder_is_unsupported(tmp_path, tiny_bert_dir):
    task = write_tiny_generation_task(tmp_path / "tasks", n=40)
    row = _run(tmp_path, tiny_bert_dir, task, "lora", budget=Budget(max_steps=1))
    assert row["status"] == "unsupported" and "needs a causal LM" in row["error"]


@pytest.mark.parametrize("name", PEFT_METHODS)
def test_every_method_runs_on_a_tiny_llama(tmp_path, tiny_llama_dir, name):
    task = write_tiny_task(tmp_path / "tasks", n=60)
    spec = RunSpec(
        suite="t",
        task="tiny_sentiment",
        task_path=str(task),
        model=str(tiny_llama_dir),
        method=name,
        seed=0,
        device="cpu",
        budget=Budget(max_steps=2, batch_size=8),
        measure=Measure(latency_requests=2, infer_repeats=1, infer_batch_size=4),
        show_progress=False,
    )
    row = execute(spec)
    assert row["status"] == "ok", row["error"]
    assert row["trainable_params"] > 0 and 0 <= row["accuracy"] <= 1


def test_bf16_autocast_trains_with_bf16_matmuls_and_fp32_weights(tmp_path, tiny_llama_dir):
    from bench.measure.train import autocast

    layer = torch.nn.Linear(4, 4)
    with autocast(torch.device("cpu"), "bf16"):
        assert layer(torch.ones(1, 4)).dtype == torch.bfloat16
    with autocast(torch.device("cpu"), "fp32"):
        assert layer(torch.ones(1, 4)).dtype == torch.float32
    task = write_tiny_task(tmp_path / "tasks", n=60)
    losses = {}
    for precision in ("fp32", "bf16"):
        spec = RunSpec(
            suite="t",
            task="tiny_sentiment",
            task_path=str(task),
            model=str(tiny_llama_dir),
            method="lora",
            seed=0,
            device="cpu",
            budget=Budget(max_steps=3, batch_size=8, precision=precision),
            measure=Measure(latency_requests=2, infer_repeats=1, infer_batch_size=4),
            show_progress=False,
        )
        row = execute(spec)
        assert row["status"] == "ok", row["error"]
        assert row["budget"]["precision"] == precision
        losses[precision] = row["loss_curve"]
    assert losses["bf16"] != losses["fp32"]  # autocast was on
    assert losses["bf16"] == pytest.approx(losses["fp32"], abs=0.05)  # and the same training, to bf16's precision

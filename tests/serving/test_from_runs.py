"""serve --adapters-from: the fleet's shape from the runs, requests padded on the left, trained slots marked."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bench.errors import BenchError
from bench.options import ServeConfig
from bench.serving import from_runs


def run(method, **kw):
    params = {"lora": {"r": 8, "target_modules": []}, "prompt_tuning": {"num_virtual_tokens": 20}}.get(method, {})
    return {
        "kind": "run",
        "status": "ok",
        "run_id": f"id-{method}",
        "model": "smollm2-135m",
        "task": "rotten_tomatoes",
        "method": method,
        "seed": 0,
        "accuracy": 0.8,
        "method_params": params,
        "budget": {"max_length": 64},
        **kw,
    }


def test_the_plan_takes_the_runs_rank_targets_virtual_tokens_and_tasks():
    rows = [
        run("zero_shot"),
        run("lora", adapter_targets=["q_proj", "v_proj"]),
        run("prompt_tuning", virtual_tokens=20),
    ]
    p = from_runs.plan(rows, "smollm2-135m", "r.jsonl")
    assert (p.rank, p.lora_targets, p.virtual_tokens, p.tasks, p.max_length) == (
        8,
        ("q_proj", "v_proj"),
        20,
        ("rotten_tomatoes",),
        64,
    )
    cfg = from_runs.configure(ServeConfig(), p)
    assert cfg.ranks == (8,) and cfg.virtual_tokens == 20


def test_runs_of_another_model_are_one_line():
    with pytest.raises(BenchError, match="no ok run of model 'minilm'.*smollm2-135m"):
        from_runs.plan([run("lora")], "minilm")


def test_requests_are_padded_and_cut_on_the_left():
    t = from_runs.padded([[5, 6], [7, 8, 9, 10]], pad_id=0, width=3)
    assert t.tolist() == [[0, 5, 6], [8, 9, 10]]
    assert from_runs.padded([[1], [2, 3]], pad_id=9).tolist() == [[9, 1], [2, 3]]


def test_rows_record_the_trained_slots_per_strategy():
    rows = [{"strategy": s} for s in ("base", "gathered_lora", "mixed_prompt_batch")]
    from_runs.mark_trained(rows, SimpleNamespace(n=16, trained_lora=1, trained_prompts=1))
    assert [r["trained_in_fleet"] for r in rows] == [0, 1, 1]
    rows = [{"strategy": "prompt_swap"}]
    from_runs.mark_trained(rows, SimpleNamespace(n=16, trained_lora=1, trained_prompts=0))
    assert rows[0]["trained_in_fleet"] == 0


def test_the_plan_keeps_only_the_named_tasks():
    rows = [run("lora"), run("lora", task="arithmetic", run_id="other")]
    assert from_runs.plan(rows, "smollm2-135m").tasks == ("rotten_tomatoes", "arithmetic")
    assert from_runs.plan(rows, "smollm2-135m", tasks=("arithmetic",)).tasks == ("arithmetic",)
    with pytest.raises(BenchError, match="no ok run of fever; valid: arithmetic, rotten_tomatoes"):
        from_runs.plan(rows, "smollm2-135m", tasks=("fever",))

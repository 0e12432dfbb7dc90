"""End to end through the CLI on tiny models: `run` writes whole rows, in process and in child processes, with
the switching sweep, variants, a failed run, and the same result for the same seed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.cli import main

FAST = [
    "--set",
    "budget.batch_size=16",
    "--set",
    "measure.latency_requests=3",
    "--set",
    "measure.infer_repeats=2",
    "--set",
    "measure.bootstrap_samples=100",
    "--set",
    "switch=",
    "--no-progress",
]


def run_cli(*args) -> int:
    return main([str(a) for a in args])


def test_run_end_to_end_tiny_bert(tiny_bert_dir, tiny_task, tmp_path, capsys):
    out = tmp_path / "rows.jsonl"
    code = run_cli(
        "run",
        "--model",
        tiny_bert_dir,
        "--tasks",
        tiny_task,
        "--methods",
        "lora,prompt_tuning,head_only,full",
        "--set",
        "params.prompt_tuning.num_virtual_tokens=4",
        "--set",
        "budget.epochs=2",
        "--output",
        out,
        "--no-isolate",
        *FAST,
    )
    assert code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["method"] for r in rows] == ["lora", "prompt_tuning", "head_only", "full"]
    for r in rows:
        assert r["status"] == "ok", r["error"]
        for key in (
            "schema_version",
            "run_id",
            "created_at",
            "git_sha",
            "machine_id",
            "env",
            "task_version",
            "trainable_params",
            "total_params",
            "trainable_pct",
            "adapter_bytes",
            "accuracy",
            "accuracy_ci_low",
            "accuracy_ci_high",
            "macro_f1",
            "n_eval",
            "train_tokens_per_s",
            "train_tokens_per_s_effective",
            "train_step_ms_p50",
            "train_step_ms_iqr",
            "peak_mem_bytes",
            "infer_tokens_per_s",
            "infer_latency_ms_p50",
            "infer_latency_ms_p95",
            "infer_tokens_per_s_batch",
            "train_step_ms_samples",
            "infer_latency_ms_samples",
        ):
            assert r.get(key) is not None, key
        assert r["accuracy_ci_low"] <= r["accuracy"] <= r["accuracy_ci_high"]
        assert r["env"]["torch"] and r["env"]["num_threads"] >= 1
    pt = rows[1]
    # virtual tokens count in the effective throughput, not in the real one
    assert pt["train_tokens_per_s_effective"] > pt["train_tokens_per_s"]
    assert rows[0]["train_tokens_per_s_effective"] == pytest.approx(rows[0]["train_tokens_per_s"])
    assert rows[3]["trainable_pct"] == 100.0
    spectrum = rows[3]["update_spectrum"]  # full fine-tuning records dW's spectrum on LoRA's targets
    assert spectrum["matrices"] == 2 * 2 and 0 < spectrum["rel_norm_mean"] < 1
    assert 0 < spectrum["energy_top_mean"]["1"] <= spectrum["energy_top_mean"]["8"] <= 1.0 + 1e-9
    assert "update_spectrum" not in rows[0]
    assert rows[0]["trainable_params"] < rows[3]["trainable_params"]
    text = capsys.readouterr().out
    assert "accuracy (95% CI)" in text and f"results: {out}" in text
    assert all(r["task"] == "tiny_sentiment" for r in rows)  # the task's name, not the path it was given as


def test_run_isolated_child_process_and_appends(tiny_bert_dir, tiny_task, tmp_path):
    out = tmp_path / "rows.jsonl"
    out.write_text("")
    args = [
        "run",
        "--model",
        tiny_bert_dir,
        "--tasks",
        tiny_task,
        "--methods",
        "lora",
        "--limit",
        "32",
        "--output",
        out,
        *FAST,
    ]
    assert run_cli(*args) == 0
    first = out.read_text()
    assert run_cli(*args) == 0
    second = out.read_text()
    assert second.startswith(first) and len(second.splitlines()) == 2  # appended, never overwritten
    row = json.loads(second.splitlines()[0])
    assert row["status"] == "ok" and row["peak_mem_bytes"] > row["mem_baseline_bytes"] > 0


def test_default_suite_appends_the_switching_sweep_and_reports_it(tiny_bert_dir, tiny_task, tmp_path):
    out = tmp_path / "rows.jsonl"
    code = run_cli(
        "run",
        "--model",
        tiny_bert_dir,
        "--tasks",
        tiny_task,
        "--methods",
        "lora",
        "--limit",
        "16",
        "--output",
        out,
        "--no-isolate",
        "--set",
        "budget.batch_size=16",
        "--no-progress",
    )
    assert code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    kinds = [r["kind"] for r in rows]
    assert kinds[0] == "run" and kinds.count("switch") == 3 * 2 * 10  # quick sweep: N in 1,4,16 x 2 orders x 10
    assert all(r["gate_ok"] for r in rows[1:])
    # the run's trained LoRA adapter is kept and serves in the first slot of every fleet
    assert (Path(rows[0]["adapter_path"]) / "adapter_model.safetensors").is_file()
    lora_rows = [r for r in rows[1:] if r["strategy"] == "gathered_lora"]
    assert all(r["trained_in_fleet"] == 1 for r in lora_rows)
    assert rows[1]["trained_adapters_from"] == [f"lora tiny_sentiment ({rows[0]['run_id']})"]
    html = out.with_suffix(".html").read_text()
    assert "Not measured in this run: no switching rows" not in html and "gathered_lora" in html


def test_no_adapters_sizes_the_adapter_and_keeps_nothing(tiny_bert_dir, tiny_task, tmp_path):
    out = tmp_path / "rows.jsonl"
    assert (
        run_cli(
            "run",
            "--model",
            tiny_bert_dir,
            "--tasks",
            tiny_task,
            "--methods",
            "lora",
            "--limit",
            "16",
            "--output",
            out,
            "--no-isolate",
            "--no-adapters",
            *FAST,
        )
        == 0
    )
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["adapter_bytes"] > 0 and "adapter_path" not in row
    assert not out.with_name(out.stem + ".adapters").exists()


def test_causal_lm_label_word_run(tiny_llama_dir, tiny_task, tmp_path):
    out = tmp_path / "rows.jsonl"
    code = run_cli(
        "run",
        "--model",
        tiny_llama_dir,
        "--tasks",
        tiny_task,
        "--methods",
        "lora,prompt_tuning,head_only,zero_shot",
        "--set",
        "params.prompt_tuning.num_virtual_tokens=4",
        "--set",
        "params.prompt_tuning.init=random",
        "--output",
        out,
        "--no-isolate",
        *FAST,
    )
    assert code == 0
    rows = {r["method"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert rows["lora"]["status"] == "ok" and rows["lora"]["model_kind"] == "causal"
    assert rows["prompt_tuning"]["status"] == "ok"
    assert rows["head_only"]["status"] == "unsupported" and "causal" in rows["head_only"]["error"]
    assert rows["zero_shot"]["status"] == "ok" and rows["zero_shot"]["trainable_params"] == 0
    # LoRA on a causal LM trains only the adapter: the LM head is shared
    # 2 layers x (q_proj 32->32 + v_proj 32->16 with 2 kv heads), r = 8
    assert rows["lora"]["trainable_params"] == 2 * (8 * (32 + 32) + 8 * (32 + 16))


def test_same_seed_same_result(tiny_bert_dir, tiny_task, tmp_path):
    rows = []
    for i in range(2):
        out = tmp_path / f"r{i}.jsonl"
        assert (
            run_cli(
                "run",
                "--model",
                tiny_bert_dir,
                "--tasks",
                tiny_task,
                "--methods",
                "lora",
                "--output",
                out,
                "--no-isolate",
                *FAST,
            )
            == 0
        )
        rows.append(json.loads(out.read_text()))
    assert rows[0]["accuracy"] == rows[1]["accuracy"]
    assert rows[0]["loss_curve"] == rows[1]["loss_curve"]


def test_failed_run_is_a_row_and_suite_goes_on(tiny_bert_dir, tiny_task, tmp_path):
    out = tmp_path / "rows.jsonl"
    # lr so large the loss becomes NaN: a failed row, and the next method still runs
    code = run_cli(
        "run",
        "--model",
        tiny_bert_dir,
        "--tasks",
        tiny_task,
        "--methods",
        "full,lora",
        "--set",
        "params.full.lr=1e30",
        "--set",
        "budget.grad_clip=0",
        "--output",
        out,
        "--no-isolate",
        *FAST,
    )
    assert code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[0]["status"] == "failed" and "diverged" in rows[0]["error"]
    assert rows[1]["status"] == "ok"


def test_rank_sweep_variants_end_to_end(tiny_bert_dir, tiny_task, tmp_path):
    suite = tmp_path / "ranks.yaml"
    suite.write_text(
        "methods: [lora_r1, lora_r4]\nvariants:\n  lora_r1: {method: lora, r: 1, alpha: 2}\n"
        "  lora_r4: {method: lora, r: 4, alpha: 8}\n"
    )
    out = tmp_path / "rows.jsonl"
    assert (
        run_cli(
            "run",
            "--suite",
            suite,
            "--model",
            tiny_bert_dir,
            "--tasks",
            tiny_task,
            "--limit",
            "16",
            "--output",
            out,
            "--no-isolate",
            *FAST,
        )
        == 0
    )
    rows = {r["method"]: r for r in map(json.loads, out.read_text().splitlines())}
    head = 32 * 2 + 2
    for name, r in (("lora_r1", 1), ("lora_r4", 4)):
        assert rows[name]["status"] == "ok" and rows[name]["base_method"] == "lora"
        assert rows[name]["trainable_params"] == 2 * 2 * r * (32 + 32) + head  # 2 layers x query, value

"""End to end through the CLI on tiny models, and every kind of bad input -> one line, exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
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


BAD = [
    (["run", "--tasks", "nope"], "unknown task 'nope'; valid tasks:"),
    (["run", "--methods", "lora,nope"], "unknown method 'nope'; valid methods:"),
    (["run", "--model", "nope"], "unknown model 'nope'; valid models:"),
    (["run", "--suite", "nope"], "unknown suite 'nope'; valid suites:"),
    (["run", "--set", "budget.batch_size=big"], "budget.batch_size: expected an integer"),
    (["run", "--set", "budget.nope=1"], "unknown key 'budget.nope'; valid keys:"),
    (["run", "--set", "nonsense"], "expected key=value"),
    (["run", "--set", "params.lora.rank=4"], "unknown key 'params.lora.rank'; valid keys:"),
    (["run", "--set", "params.lora.r=4", "--methods", "full"], "params given for method(s) not in this suite"),
    (["run", "--device", "tpu"], "invalid choice"),
    (["run", "--limit", "0"], "--limit must be at least 1"),
    (["run", "--methods", "/no/such/adapter_config.json"], "cannot read adapter config"),
    (["frobnicate"], "invalid choice"),
]


def exit_code(argv) -> int:
    try:
        return main(argv)
    except SystemExit as e:  # argparse's own errors
        return e.code


@pytest.mark.parametrize("argv,message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_one_line_exit_2(argv, message, tmp_path, capsys):
    out = tmp_path / "rows.jsonl"
    code = exit_code(argv + ["--output", str(out)] if argv[0] == "run" else argv)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()  # nothing written


def test_cuda_without_cuda_is_exit_2(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    out = tmp_path / "rows.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "run", "--device", "cuda", "--output", str(out)], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        == "error: --device cuda: CUDA is not available on this machine; valid devices here: auto, cpu"
    )
    assert not out.exists()


def test_malformed_suite_yaml(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("tasks: [rotten_tomatoes\nmethods: lora\n")
    assert main(["run", "--suite", str(bad), "--output", str(tmp_path / "o.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "malformed YAML" in err and len(err.strip().splitlines()) == 1


def test_list_and_env(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for word in (
        "rotten_tomatoes",
        "debates_party",
        "lora",
        "prompt_tuning",
        "head_only",
        "full",
        "minilm",
        "smollm2-135m",
        "quick",
        "smoke",
    ):
        assert word in out
    assert main(["env"]) == 0
    env = json.loads(capsys.readouterr().out)
    assert {"torch", "transformers", "peft", "device_name", "num_threads", "git_sha", "machine_id"} <= set(env)


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


def test_methods_option_narrows_the_suites_per_method_settings():
    from bench.cli import build_parser
    from bench.cli.run import suite_from_args
    from bench.config import apply_overrides
    from bench.errors import BenchError
    from bench.execute.suite import plan

    def cfg(*argv):
        return suite_from_args(build_parser().parse_args(["run", *argv, "--device", "cpu"]))

    rt = cfg("--suite", "llm_rt", "--methods", "lora", "--seeds", "1,2")
    assert rt.methods == ("lora",) and set(rt.params) == set(rt.lr_sweep) == set(rt.sweep) == {
        "lora"
    }  # prompt_tuning's dropped
    assert [(s.params["lr"], s.params["r"], s.seed) for s in plan(rt, show_progress=False)] == [
        (lr, 16, seed) for lr in (3e-4, 1e-3, 3e-3) for seed in (1, 2)
    ] + [(lr, 64, seed) for lr in (1e-3, 3e-4) for seed in (1, 2)]
    llm = cfg("--suite", "llm", "--methods", "zero_shot,prompt_tuning")
    assert set(llm.lr_sweep) == {"prompt_tuning"}
    ranks = cfg("--suite", "lora_ranks", "--methods", "lora_r4")
    assert set(ranks.variants) == set(ranks.lr_sweep) == {"lora_r4"} and len(plan(ranks, show_progress=False)) == 3
    explicit = cfg("--suite", "llm_rt", "--methods", "lora", "--set", "params.prompt_tuning.lr=0.1")
    with pytest.raises(BenchError, match="params given for method"):  # what the user asks for still counts
        plan(apply_overrides(explicit, []), show_progress=False)


SUBCOMMANDS = ("run", "list", "env", "switch", "report", "compare", "baseline")


def _version_line() -> str:
    import bench

    return f"adapter-bench {bench.__version__}"


def test_version_in_process_and_through_the_console_script_target(capsys):
    import importlib
    import re

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == _version_line()
    pyproject = (Path(__file__).parent.parent / "pyproject.toml").read_text()
    target = re.search(r'^adapter-bench\s*=\s*"([^"]+)"', pyproject, re.M).group(1)  # what `adapter-bench` runs
    module, _, func = target.partition(":")
    with pytest.raises(SystemExit) as e:
        getattr(importlib.import_module(module), func)(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == _version_line()


def test_version_and_help_through_python_m_bench():
    proc = subprocess.run([sys.executable, "-m", "bench", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == _version_line()
    proc = subprocess.run([sys.executable, "-m", "bench", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    listed = {line.split()[0] for line in proc.stdout.splitlines() if line.startswith("    ") and line.split()}
    assert set(SUBCOMMANDS) <= listed, f"--help does not list {set(SUBCOMMANDS) - listed}"

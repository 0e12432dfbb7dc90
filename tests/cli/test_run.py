"""`run`'s options (bench/cli/run.py): every kind of bad input -> one line on stderr and exit 2, nothing written;
--methods narrows the suite's per-method settings."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.cli import main

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

"""Commands that do not train answer at once: `--help` of every command, `--version`, `list`, `env` and every
command refused for bad input (one line, exit 2) import neither torch nor the other heavy libraries (asserted on
the modules a fresh process loaded, not on a clock, which a busy machine would make flaky;
benchmarks/fast_commands.py times them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers", "peft", "pandas", "matplotlib", "seaborn", "scipy")
# every command's help, subcommands' too (`run --help` is above)
HELPS = [
    ["switch"],
    ["serve"],
    ["list"],
    ["env"],
    ["decide"],
    ["report"],
    ["compare"],
    ["baseline"],
    ["baseline", "save"],
    ["baseline", "path"],
    ["history"],
    ["history", "add"],
    ["history", "report"],
    ["history", "check"],
    ["export"],
    ["assets"],
    ["assets", "bundle"],
    ["assets", "check"],
]
# what bench/cli loads by name once a command's input is checked: module -> the functions it calls there
LATE = {
    "bench.cli.runner": ["run"],
    "bench.switching.sweep": ["run_sweep"],
    "bench.serving.run": ["run_serve", "median_error"],
    "bench.render.terminal": ["switch_table", "serve_table"],
}
PROBE = """
import contextlib, io, json, sys
from bench.cli import main
out, err = io.StringIO(), io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    try:
        code = main(json.loads(sys.argv[1]))
    except SystemExit as e:
        code = e.code
heavy = [m for m in json.loads(sys.argv[2]) if m in sys.modules]
print(json.dumps({"code": code, "heavy": heavy, "out": out.getvalue(), "err": err.getvalue()}))
"""


def probe(argv: list[str], tmp_path: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "argv, code",
    [
        (["--help"], 0),
        (["--version"], 0),
        (["run", "--help"], 0),
        (["list"], 0),
        (["run", "--tasks", "rotten_tomatos"], 2),
        (["run", "--methods", "lorra"], 2),
        (["run", "--model", "no-such-model"], 2),
        (["run", "--set", "budget.epoch=2"], 2),
        (["run", "--suite", "quik"], 2),
        (["run", "--limit", "0"], 2),
        (["rnu"], 2),
        # every other command: its help, then one input it refuses
        *[([*command, "--help"], 0) for command in HELPS],
        (["switch", "--tasks-n", "abc"], 2),
        (["switch", "--strategies", "bogus"], 2),
        (["switch", "--adapters-from", "nothing.jsonl"], 2),
        (["switch", "--layers", "2"], 2),
        (["serve", "--strategies", "bogus"], 2),
        (["serve", "--tasks-n", "abc"], 2),
        (["serve", "--slo-ms", "-1"], 2),
        (["serve", "--model", "no-such-model"], 2),
        (["report", "--pair", "lora"], 2),
        (["report", "nothing.jsonl"], 2),
        (["compare", "a.jsonl", "b.jsonl"], 2),
        (["history", "add", "nothing.jsonl", "--store", "store"], 2),
        (["history", "check", "--store", "store", "--penalty", "-1"], 2),
        (["baseline", "save", "nothing.jsonl"], 2),
        (["export", "nothing.jsonl"], 2),
        (["export", "a.jsonl", "--format", "xml"], 2),
        (["assets", "bundle", "folder", "--suite", "no-such-suite"], 2),
        (["decide", "a.jsonl", "--tasks-n", "0", "--rate", "1"], 2),
        (["list", "--tasks-dir", "no-such-folder"], 2),
        (["env", "--verbose"], 2),
    ],
)
def test_commands_that_do_not_train_import_no_torch(argv, code, tmp_path):
    got = probe(argv, tmp_path)
    assert got["code"] == code, got
    assert got["heavy"] == [], f"{argv} imported {got['heavy']}"
    if code == 2:
        assert len(got["err"].strip().splitlines()) == 1 and got["err"].startswith("error: "), got["err"]
        assert got["out"] == ""
    else:
        assert got["err"] == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written


@pytest.mark.parametrize("command", ["run", "switch", "serve"])
def test_device_cuda_on_a_cpu_only_build_is_refused_without_torch(command, tmp_path):
    from bench.measure import environment

    if environment.environment_without_torch() is None:
        pytest.skip("a CUDA or ROCm torch: only torch can say whether a GPU is there")
    got = probe([command, "--device", "cuda"], tmp_path)
    assert got["code"] == 2 and got["heavy"] == [], got
    assert got["err"] == "error: --device cuda: CUDA is not available on this machine; valid devices here: auto, cpu\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_the_work_loaded_late_is_there():
    """switch, serve and run load their work by name once their input is checked (importlib, so the checks
    above hold): the names must exist."""
    import importlib

    for module, names in LATE.items():
        loaded = importlib.import_module(module)
        assert all(callable(getattr(loaded, n, None)) for n in names), (module, names)


def test_env_prints_versions_without_importing_torch_for_a_cpu_build(tmp_path):
    from bench.measure import environment

    if environment.environment_without_torch() is None:
        pytest.skip("a CUDA or ROCm torch: only torch can say whether a GPU is there")
    got = probe(["env"], tmp_path)
    assert got["code"] == 0 and got["heavy"] == []
    info = json.loads(got["out"])
    import torch

    # what env prints is what a run row records (bench.measure.environment.environment, which asks torch)
    recorded = environment.environment(torch.device("cpu"))
    assert {k: info[k] for k in recorded} == recorded
    assert {"git_sha", "machine_id", "cache_dir"} <= set(info)

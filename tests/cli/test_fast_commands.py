"""Commands that do not train answer at once: `--help`, `--version`, `list`, `env` and a run refused for bad
input import neither torch nor the other heavy libraries (asserted on the modules a fresh process loaded, not
on a clock, which a busy machine would make flaky)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers", "peft", "pandas", "matplotlib", "seaborn", "scipy")
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
    ],
)
def test_commands_that_do_not_train_import_no_torch(argv, code, tmp_path):
    got = probe(argv, tmp_path)
    assert got["code"] == code, got
    assert got["heavy"] == [], f"{argv} imported {got['heavy']}"
    if code == 2 and argv[0] == "run":
        assert len(got["err"].strip().splitlines()) == 1 and got["err"].startswith("error: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written


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

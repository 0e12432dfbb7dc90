"""The command line's entry points (bench/cli/__init__.py, bench/cli/info.py): `list`, `env`, --version and --help,
in process, through the console script's target and through `python -m bench`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cli import main


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
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
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

"""Commands that refuse what would mislead: `baseline save` of a suite still running, `--device cuda` without
CUDA (nothing left behind), `compare --only-changed` with nothing changed, and help text on every option."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from bench.cli import COMMANDS, build_parser, main
from tests.analysis.test_compare import make_row, write

HOLD = (
    "import sys; from pathlib import Path; from bench.rows.store import locked\n"
    "with locked(Path(sys.argv[1])):\n"
    "    print('held', flush=True); sys.stdin.read()\n"
)


@pytest.fixture
def held(tmp_path):
    """A results file whose lock another process holds (a run still appending), until the test ends."""
    runs = tmp_path / "ws" / "results" / "runs"
    runs.mkdir(parents=True)
    path = write(runs / "20261207T010000Z-smoke.jsonl", [make_row(seed=1), make_row(method="full")])
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "held"
    yield path
    proc.communicate("", timeout=30)


def test_baseline_save_refuses_a_run_still_in_progress(held, tmp_path, capsys, monkeypatch):
    root = tmp_path / "baselines"
    assert main(["baseline", "save", str(held), "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "still being written by a run" in err
    # with no argument, the newest results file is the one picked, and refused the same way
    monkeypatch.setattr("bench.rows.baselines.workspace_root", lambda: tmp_path / "ws")
    assert main(["baseline", "save", "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert "(the newest in results/runs/) is still being written" in err and len(err.strip().splitlines()) == 1
    assert not root.exists()  # nothing saved


def test_baseline_save_takes_a_finished_run(tmp_path, capsys):
    src = write(tmp_path / "done.jsonl", [make_row(seed=1)])
    assert main(["baseline", "save", str(src), "--root", str(tmp_path / "b")]) == 0
    assert not (tmp_path / "done.jsonl.lock").exists()  # asking about the lock leaves none behind


def parsers(parser: argparse.ArgumentParser, path: str = "python -m bench"):
    """The parser and every subcommand's parser under it, each with its command line."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from parsers(sub, f"{path} {name}")


def test_every_option_and_argument_of_every_command_has_help():
    seen, missing = set(), []
    for path, parser in parsers(build_parser()):
        seen.add(path)
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            if not (action.help or "").strip() or action.help == argparse.SUPPRESS:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    assert set(COMMANDS) <= {p.split()[3] for p in seen if len(p.split()) > 3}  # the walk reached every command
    assert {"python -m bench assets bundle", "python -m bench history add"} <= seen
    assert not missing, f"options without help text: {missing}"


def test_compare_only_changed_with_nothing_changed_says_so_in_one_line(tmp_path, capsys):
    base = write(tmp_path / "base.jsonl", [make_row(seed=1)])
    same = write(tmp_path / "same.jsonl", [make_row(seed=1)])
    assert main(["compare", str(base), str(same), "--only-changed"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("nothing changed: all ") and "within noise" in out[0]
    assert main(["compare", str(base), str(same)]) == 0
    assert "| ~ |" in capsys.readouterr().out  # without the option, the verdicts are listed


@pytest.mark.parametrize("command", ["run", "switch", "serve"])
def test_device_cuda_without_cuda_leaves_nothing(command, tmp_path, capsys, monkeypatch):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    monkeypatch.chdir(tmp_path)
    assert main([command, "--device", "cuda", "--output", str(tmp_path / "new" / "out.jsonl")]) == 2
    assert main([command, "--device", "cuda"]) == 2  # the default output under results/runs/
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --device cuda: CUDA is not available on this machine; valid devices here: auto, cpu"] * 2
    assert sorted(tmp_path.rglob("*")) == []  # no rows, no lock, no folder made for them

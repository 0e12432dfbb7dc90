"""`switch`'s options (bench/cli/switch.py): bad ones -> one line on stderr and exit 2, nothing written."""

from __future__ import annotations

import pytest

from bench.cli import main


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--tasks-n", "0"], "at least 1"),
        (["--tasks-n", "a,b"], "expected comma-separated integers"),
        (["--strategies", "teleport"], "unknown strategy 'teleport'; valid:"),
        (["--order", "random"], "unknown order 'random'"),
        (["--model", "nope"], "unknown model 'nope'"),
    ],
)
def test_bad_switch_options(argv, message, tmp_path, capsys):
    out = tmp_path / "o.jsonl"
    assert main(["switch", *argv, "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()

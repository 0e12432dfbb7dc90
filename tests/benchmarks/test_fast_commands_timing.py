"""benchmarks/fast_commands.py on one command: its table row says the exit code and that no heavy library
was imported (the timing itself is not asserted: a busy machine would make it flaky)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_timing_table_names_each_command_its_exit_and_its_heavy_imports():
    out = subprocess.run(
        [sys.executable, "benchmarks/fast_commands.py", "--repeat", "1", "--only", "switch --tasks-n"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, check=True,
        timeout=300,
    ).stdout  # fmt: skip
    rows = [line.split("|")[1:-1] for line in out.splitlines() if line.startswith("| `")]
    assert [r[0].strip() for r in rows] == ["`python -c pass (floor)`", "`switch --tasks-n abc`"], out
    assert [r[3].strip() for r in rows] == ["0", "2"] and [r[4].strip() for r in rows] == ["none", "none"]
    assert all(float(r[1]) > 0 and float(r[2]) >= 0 for r in rows)
    assert out.startswith("load average at start: ") and "load average at end: " in out

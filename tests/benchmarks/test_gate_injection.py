"""benchmarks/gate_injection.py on the committed rows, with few draws: the gate keeps what results/gate claims
(every one-way loss of 15 of 1,000 answers flagged, every x10 slowdown of the smoke rows, no false alarm on
the A/A pairs with timings advisory)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_injection_benchmark_meets_its_claims():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "benchmarks/gate_injection.py", "--trials", "2"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=300,
    ).stdout  # fmt: skip
    lines = out.splitlines()
    row = lambda start: next(x for x in lines if x.startswith(start))
    for k in (15, 25, 50):
        assert "| 100% (7/7) |" in row(f"| {k} of 1000 | 7 LLM rows"), out
    assert row("| x10 scaled |").count("100% (4/4)") == 3
    assert row("| A/A jittered copy |").count("0% (0/") == 3
    for kind in ("jittered copy", "resampled copy", "real rerun"):
        assert row(f"| {kind} |").split("|")[3].strip() == "0"  # gate fails with timings advisory: none

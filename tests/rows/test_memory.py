"""One meaning for memory (bench/rows/memory.py): the run's own peak is the process peak less what was resident
before the model, recorded or derived for old rows; sizes read in binary units everywhere."""

from __future__ import annotations

import re
from pathlib import Path

from bench.rows import schema
from bench.rows.memory import fmt_bytes, own_peak, own_peak_source

ROOT = Path(__file__).resolve().parents[2]


def test_own_peak_recorded_derived_or_unknown():
    assert own_peak({"peak_mem_own_bytes": 5, "peak_mem_bytes": 100, "mem_baseline_bytes": 10}) == 5
    old = {"peak_mem_bytes": 1_500_000_000, "mem_baseline_bytes": 400_000_000}
    assert own_peak(old) == 1_100_000_000 and own_peak_source(old) == "derived"
    assert own_peak({"peak_mem_bytes": 10**9, "mem_baseline_bytes": 0}) == 10**9  # CUDA: tensors only, no baseline
    assert own_peak({"peak_mem_bytes": 10**9}) is None and own_peak_source({"peak_mem_bytes": 1}) == "unknown"
    assert own_peak({"peak_mem_bytes": None, "mem_baseline_bytes": 5}) is None


def test_sizes_are_binary_units_labelled_as_such():
    assert fmt_bytes(2**20) == "1.0 MiB" and fmt_bytes(3 * 2**30) == "3.0 GiB" and fmt_bytes(2048) == "2.0 KiB"
    assert fmt_bytes(1_000_000) == "976.6 KiB"  # 10^6 bytes are not a MiB
    assert fmt_bytes(512) == "512 B" and fmt_bytes(None) == "-"
    peak = next(m for m in schema.METRICS if m.name == "peak_mem_own_bytes")
    assert peak.terminal == "own peak MiB" and peak.text(2**30, terminal=True) == "1024"


def test_no_size_divided_by_two_to_the_twenty_is_labelled_mb():
    """Code, docs and results READMEs: a size in MB (decimal) or GB is never a 2^20 or 2^30 quotient."""
    for path in [*ROOT.glob("bench/**/*.py"), *ROOT.glob("bench/**/*.j2"), *ROOT.glob("docs/*.md"), ROOT / "README.md"]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"2\s*\*\*\s*(20|30)[^\n]*\b[MG]B\b", text), path
        assert not re.search(r'"(MB|GB|kB)"', text), path

"""The read-only commands need nothing POSIX-only: with fcntl and resource unavailable (as on Windows) their
modules import and report, compare and export answer on a committed results file. The store's lock is
filelock's (flock here), held against a second writer; memory reads in bytes on Linux, macOS and Windows."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from bench.errors import BenchError
from bench.measure import memory
from bench.rows.store import locked

ROOT = Path(__file__).resolve().parents[2]
READ_ONLY = ("report", "compare", "history", "export", "baseline")
RESULTS = "results/shapes/train-cpu.jsonl"

NO_POSIX = """
import sys
sys.modules["fcntl"] = None  # `import fcntl` raises ImportError, as where there is none
sys.modules["resource"] = None
import importlib
for name in {modules!r}:
    importlib.import_module("bench.cli." + name)
from bench.cli import main
codes = [main(args) for args in {commands!r}]
print("CODES", codes, [m for m in ("fcntl", "resource") if sys.modules.get(m) is not None])
"""


def test_read_only_commands_run_without_fcntl_or_resource(tmp_path):
    commands = [
        ["report", RESULTS, "-o", str(tmp_path / "r.html")],
        ["compare", RESULTS, RESULTS],
        ["export", RESULTS, "-o", str(tmp_path / "rows.csv")],
    ]
    code = NO_POSIX.format(modules=READ_ONLY, commands=commands)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "CODES [0, 0, 0] []" in out.stdout, out.stdout[-2000:] + out.stderr[-2000:]
    assert (tmp_path / "r.html").stat().st_size > 1000 and (tmp_path / "rows.csv").read_text().count("\n") > 1


def test_a_second_writer_is_refused_and_the_lock_file_goes(tmp_path):
    rows = tmp_path / "rows.jsonl"
    link = tmp_path / "link.jsonl"
    rows.touch()
    link.symlink_to(rows)
    with locked(rows) as path:
        assert path == rows.resolve() and (tmp_path / "rows.jsonl.lock").exists()
        with pytest.raises(BenchError, match="being written by another run"):
            with locked(link):  # one lock per file, whatever link it is reached through
                pass
    assert not (tmp_path / "rows.jsonl.lock").exists()
    with locked(link, wait=True):  # free again
        pass


class _Usage:
    def __init__(self, maxrss: int):
        self.ru_maxrss = maxrss


def _fake_resource(maxrss: int) -> types.ModuleType:
    mod = types.ModuleType("resource")
    mod.RUSAGE_SELF = 0
    mod.getrusage = lambda who: _Usage(maxrss)
    return mod


@pytest.mark.parametrize(
    ("platform", "maxrss", "expected"),
    [("darwin", 50 * 2**30, 50 * 2**30), ("linux", 50 * 2**20, 50 * 2**30), ("freebsd14", 50 * 2**20, 50 * 2**30)],
)
def test_peak_memory_is_bytes_where_there_is_no_proc(monkeypatch, platform, maxrss, expected):
    monkeypatch.setattr(memory, "_linux_peak_bytes", lambda: None)
    monkeypatch.setattr(memory.sys, "platform", platform)
    monkeypatch.setitem(sys.modules, "resource", _fake_resource(maxrss))
    assert memory.process_peak_bytes() == expected  # ru_maxrss: bytes on macOS, KiB elsewhere


def test_peak_memory_on_windows_is_the_peak_working_set(monkeypatch):
    info = types.SimpleNamespace(rss=2**20, peak_wset=3 * 2**30)
    monkeypatch.setattr(memory, "_linux_peak_bytes", lambda: None)
    monkeypatch.setattr(memory.psutil, "Process", lambda: types.SimpleNamespace(memory_info=lambda: info))
    monkeypatch.setitem(sys.modules, "resource", None)
    assert memory.process_peak_bytes() == 3 * 2**30 and memory.current_rss_bytes() == 2**20


@pytest.mark.skipif(sys.platform != "linux", reason="/proc")
def test_peak_memory_on_linux_is_vmhwm_in_bytes():
    status = Path("/proc/self/status").read_text()
    hwm = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    assert memory.process_peak_bytes() >= hwm * 1024 > 2**20  # kB in /proc, bytes here
    assert 2**20 < memory.current_rss_bytes() < 2 * memory.process_peak_bytes()

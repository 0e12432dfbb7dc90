"""Faults, injected: kill -9 of the suite or of a run's child at random points, a full disk, two writers on
one store, a local task's data edited between runs. Each ends with every run exactly once and `ok`, the
rows written before the fault byte for byte, or one line on stderr and exit code 2.

More kill points: ADAPTER_BENCH_FAULT_POINTS=10 (default 4, to keep the suite quick)."""

from __future__ import annotations

import collections
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.cli import main
from bench.execute.executors import crash_row
from bench.execute.run import RunSpec
from bench.rows.store import append_rows, drop_truncated_tail, read_rows
from tests.conftest import is_run_process
from tests.e2e.test_cli import FAST
from tests.e2e.test_resume import children_of, start_suite

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="signals, flock, ulimit: Linux only")
POINTS = int(os.environ.get("ADAPTER_BENCH_FAULT_POINTS", "4"))


def suite_args(model, task, out, methods="head_only,lora", seeds="0,1") -> list[str]:
    args = ["--model", model, "--tasks", task, "--methods", methods, "--seeds", seeds, "--limit", "8"]
    return [*map(str, args), "--output", str(out), "--no-adapters", *FAST]


def whole_rows(path: Path) -> bytes:
    data = path.read_bytes() if path.exists() else b""
    return data[: data.rfind(b"\n") + 1]


def each_run_once(path: Path) -> collections.Counter:
    """config_hash -> number of ok rows."""
    return collections.Counter(r["config_hash"] for r in read_rows(path) if r["status"] == "ok")


def run_children(pid: int) -> list[int]:
    """The spawned run processes of a suite (not multiprocessing's helpers)."""
    import psutil

    out = []
    for c in children_of(pid):
        try:
            if is_run_process(psutil.Process(c)):
                out.append(c)
        except psutil.NoSuchProcess:
            pass
    return out


def gone(pid: int, wait_s: float = 10) -> bool:
    import psutil

    t0 = time.monotonic()
    while time.monotonic() - t0 < wait_s:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def test_kill_9_of_the_suite_or_its_run_then_resume(tiny_bert_dir, tiny_task, tmp_path):
    """Random points: after 0-3 rows and a random delay, SIGKILL the suite (its child dies with it) or the
    running child (the suite records it as `killed` and goes on). Every round keeps the earlier rows."""
    rng = random.Random(int(os.environ.get("ADAPTER_BENCH_FAULT_SEED", "16")))
    out = tmp_path / "rows.jsonl"
    args = suite_args(tiny_bert_dir, tiny_task, out, methods="head_only", seeds="0,1,2")
    matrix = []
    for point in range(POINTS):
        before = whole_rows(out)
        target = "suite" if point % 2 == 0 else "child"
        proc = start_suite([*args, "--resume"], tmp_path)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 120 and proc.poll() is None and not run_children(proc.pid):
            time.sleep(0.05)
        delay = rng.uniform(0, 3.0)  # into the run: loading, training, measuring, or writing its row
        time.sleep(delay)
        children = run_children(proc.pid)
        if proc.poll() is None:
            for pid in children if target == "child" else [proc.pid]:
                os.kill(pid, signal.SIGKILL)
        proc.wait(300)  # a suite whose child was killed records it and goes on to the end
        if target == "suite":  # its child dies with it (PR_SET_PDEATHSIG): no orphan keeps training
            assert all(gone(c) for c in children), "an orphaned run outlived its suite"
        after = out.read_bytes() if out.exists() else b""
        assert after.startswith(before), f"point {point}: earlier rows changed"
        matrix.append((target, round(delay, 2), before.count(b"\n"), whole_rows(out).count(b"\n"), proc.returncode))
    killed = [r for r in read_rows(out) if r["status"] not in ("ok",)]
    assert all(r["status"] == "killed" and r["error"].startswith("killed (SIGKILL)") for r in killed), killed
    before = whole_rows(out)
    assert main(["run", *args, "--resume", "--no-isolate"]) == 0
    assert out.read_bytes().startswith(before)
    counts = each_run_once(out)
    assert len(counts) == 3 and set(counts.values()) == {1}, (counts, matrix)
    print("fault matrix (target, delay s, rows before, rows after, exit):", matrix)


def test_full_disk_is_one_line_and_keeps_every_row(tiny_bert_dir, tiny_task, tmp_path):
    out = tmp_path / "rows.jsonl"
    earlier = {"schema_version": 1, "kind": "run", "task": "t", "method": "m", "seed": 0, "status": "ok"}
    append_rows(out, [{**earlier, "error": "x" * (2048 - 120)}])  # rows of an earlier suite
    kept = out.read_bytes()
    limit_kb = len(kept) // 1024 + 1  # room for less than one more row
    more = suite_args(tiny_bert_dir, tiny_task, out, methods="head_only", seeds="0")
    cmd = " ".join(f"'{a}'" for a in more)
    proc = subprocess.run(
        ["bash", "-c", f"ulimit -f {limit_kb}; exec '{sys.executable}' -m bench run {cmd} --resume --no-isolate"],
        env={**os.environ, "ADAPTER_BENCH_CACHE": str(tmp_path / "cache")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and len(errors) == 1, proc.stderr[-2000:]
    assert "cannot append to results" in errors[0] and "earlier rows are kept" in errors[0]
    assert any(line.startswith("unsaved row: {") for line in proc.stderr.splitlines())  # the lost row, printed
    assert out.read_bytes() == kept  # no earlier row lost, no partial row left


def test_two_concurrent_resumes_run_each_run_once(tiny_bert_dir, tiny_task, tmp_path):
    out = tmp_path / "rows.jsonl"
    args = [*suite_args(tiny_bert_dir, tiny_task, out, methods="head_only", seeds="0,1"), "--resume", "--no-isolate"]
    procs = [start_suite(args, tmp_path) for _ in range(2)]
    results = [(p.wait(300), p.stderr.read().decode()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes in ([0, 0], [0, 2]), results
    for code, err in results:
        if code == 2:  # refused at once, in one line, before running anything
            assert err.strip().splitlines()[-1].startswith("error: results") and "another run" in err, err
            assert "Traceback" not in err
    counts = each_run_once(out)
    assert len(counts) == 2 and set(counts.values()) == {1}, counts


def test_a_held_lock_refuses_a_second_writer(tiny_bert_dir, tiny_task, tmp_path, capsys):
    import fcntl

    out = tmp_path / "rows.jsonl"
    with open(tmp_path / "rows.jsonl.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        assert main(["run", *suite_args(tiny_bert_dir, tiny_task, out, methods="head_only", seeds="0")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "being written by another run" in err
    assert not out.exists()


def test_an_edited_data_file_changes_the_digest_and_resume_refuses(tiny_bert_dir, tiny_task, tmp_path, capsys):
    out = tmp_path / "rows.jsonl"
    args = [*suite_args(tiny_bert_dir, tiny_task, out, methods="head_only", seeds="0"), "--no-isolate"]
    assert main(["run", *args]) == 0
    kept = out.read_bytes()
    data = tiny_task.parent / "tiny_sentiment.csv"
    text = data.read_text()
    data.write_text(text.replace("great", "superb", 1) if "great" in text else text.replace("good", "lovely", 1))
    capsys.readouterr()
    assert main(["run", *args, "--resume"]) == 2
    err = capsys.readouterr().err
    assert "changed since its rows" in err and len(err.strip().splitlines()) == 1
    assert out.read_bytes() == kept


def test_a_whole_last_row_without_newline_is_kept(tiny_bert_dir, tiny_task, tmp_path):
    out = tmp_path / "rows.jsonl"
    args = [*suite_args(tiny_bert_dir, tiny_task, out, methods="head_only", seeds="0,1"), "--no-isolate"]
    assert main(["run", *args]) == 0
    data = out.read_bytes()
    out.write_bytes(data[:-1])  # the last row without its newline (an editor, a copy)
    first = data.split(b"\n")[0]
    assert len(read_rows(out)) == 2  # --resume counts it as done ...
    assert drop_truncated_tail(out) == 0 and out.read_bytes() == data  # ... so it is never cut: its newline is added
    out.write_bytes(first)  # one whole row, no newline: a resume appends the other run after it
    assert main(["run", *args, "--resume"]) == 0
    rows = read_rows(out)
    assert len(rows) == 2 and out.read_bytes().startswith(first + b"\n")
    assert set(each_run_once(out).values()) == {1}


def test_sigkill_is_killed_unless_the_oom_count_rose(tiny_task):
    spec = RunSpec(suite="s", task="t", model="m", method="lora", seed=0, device="cpu")
    row = crash_row(spec, -signal.SIGKILL, ooms_before=(3, 10), ooms_after=(3, 10))
    assert row["status"] == "killed" and row["error"].startswith("killed (SIGKILL)")
    assert crash_row(spec, -signal.SIGKILL, (3, 10), (4, 10))["status"] == "oom"  # the cgroup's count rose
    assert crash_row(spec, -signal.SIGKILL, (None, 10), (None, 11))["status"] == "oom"  # the kernel's
    assert crash_row(spec, -signal.SIGKILL, (None, None), (None, None))["status"] == "killed"  # no evidence
    assert crash_row(spec, -signal.SIGSEGV, (0, 0), (0, 0))["status"] == "failed"


def test_a_child_whose_parent_is_gone_exits_at_once():
    """The orphan window: the parent died before the child asked to die with it. The child sees that its
    parent is no longer the one that started it and exits instead of training."""
    code = "from bench.execute.executors import _die_with_parent; _die_with_parent(1); print('trained')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "trained" not in proc.stdout
    code = (
        "import os; from bench.execute.executors import _die_with_parent; _die_with_parent(os.getppid()); print('ok')"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "ok"


def test_an_unwritable_output_is_refused_before_any_run(tiny_bert_dir, tiny_task, tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        t0 = time.monotonic()
        assert main(["run", *suite_args(tiny_bert_dir, tiny_task, folder / "rows.jsonl", "head_only", "0")]) == 2
        assert time.monotonic() - t0 < 30  # refused up front, not after a run
        err = capsys.readouterr().err
        assert err.startswith("error: cannot write results") and len(err.strip().splitlines()) == 1
    finally:
        folder.chmod(0o700)


def test_write_failure_keeps_earlier_rows(tmp_path, capsys):
    path = tmp_path / "rows.jsonl"
    row = {"schema_version": 1, "task": "t", "method": "m", "status": "ok"}
    append_rows(path, [{**row, "a": 1}])
    kept = path.read_bytes()
    from bench.errors import BenchError

    with pytest.raises(BenchError, match="cannot append to results"):
        append_rows(path, [{**row, "x": float("nan")}])
    assert path.read_bytes() == kept and "unsaved row" in capsys.readouterr().err

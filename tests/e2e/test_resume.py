"""Crash safety: a suite killed with SIGKILL resumes to every run exactly once and `ok`, rows written
before the kill untouched; a run past its timeout is a `timeout` row; Ctrl-C is a `cancelled` row
and exit 130. The parent runs as a real process (`python -m bench run`), its runs in children."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.cli import main
from bench.rows.store import append_rows, drop_truncated_tail, read_rows
from tests.conftest import is_run_process, write_tiny_task
from tests.e2e.test_cli import FAST

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="process-group signals: Linux only")


def start_suite(args, tmp_path) -> subprocess.Popen:
    """`python -m bench run ...` in its own process group, so a test can kill it with its child."""
    env = {**os.environ, "ADAPTER_BENCH_CACHE": str(tmp_path / "cache")}
    return subprocess.Popen(
        [sys.executable, "-m", "bench", "run", *map(str, args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def wait_for_rows(path: Path, n: int, proc: subprocess.Popen, limit_s: float = 90) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        if path.exists() and path.read_bytes().count(b"\n") >= n:
            return
        if proc.poll() is not None:
            pytest.fail(f"suite ended early ({proc.returncode}): {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.05)
    pytest.fail(f"no {n} rows in {limit_s} s")


def children_of(pid: int) -> list[int]:
    import psutil

    try:
        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def test_sigkill_mid_suite_then_resume(tiny_bert_dir, tiny_task, tmp_path):
    out = tmp_path / "rows.jsonl"
    args = [
        "--model",
        tiny_bert_dir,
        "--tasks",
        tiny_task,
        "--methods",
        "head_only,lora,prompt_tuning",
        "--set",
        "params.prompt_tuning.num_virtual_tokens=4",
        "--limit",
        "32",
        "--output",
        out,
        *FAST,
    ]
    proc = start_suite(args, tmp_path)
    wait_for_rows(out, 1, proc)
    os.killpg(proc.pid, signal.SIGKILL)  # the parent and the run's child, mid-suite
    proc.wait()
    before = out.read_bytes()
    whole = before[: before.rfind(b"\n") + 1]
    assert whole.count(b"\n") < 3, "the suite finished before it was killed"

    assert main(["run", *map(str, args), "--resume", "--no-isolate"]) == 0  # isolation is not in the hash
    after = out.read_bytes()
    assert after.startswith(whole)  # rows written before the kill, byte for byte
    rows = read_rows(out)
    assert sorted((r["method"], r["status"]) for r in rows) == [
        ("head_only", "ok"),
        ("lora", "ok"),
        ("prompt_tuning", "ok"),
    ]
    assert len({r["config_hash"] for r in rows}) == 3

    assert main(["run", *map(str, args), "--resume"]) == 0  # all done: nothing runs, nothing is written
    assert out.read_bytes() == after


def test_resume_reruns_failed_runs_and_drops_a_truncated_tail(tiny_bert_dir, tiny_task, tmp_path, capsys):
    out = tmp_path / "rows.jsonl"
    args = [
        "run",
        "--model",
        tiny_bert_dir,
        "--tasks",
        tiny_task,
        "--methods",
        "head_only,lora",
        "--limit",
        "16",
        "--output",
        out,
        "--no-isolate",
        *FAST,
    ]
    assert main(list(map(str, args))) == 0
    rows = read_rows(out)
    failed = {**rows[1], "status": "failed", "error": "boom", "run_id": "x"}
    out.write_text(json.dumps(rows[0]) + "\n" + json.dumps(failed) + "\n")
    kept = out.read_bytes()
    with open(out, "ab") as f:
        f.write(b'{"schema_version": 1, "run_id": "cut')  # killed mid-write
    assert main(list(map(str, args)) + ["--resume"]) == 0
    err = capsys.readouterr().err
    assert "truncated last line" in err
    after = out.read_bytes()
    assert after.startswith(kept)
    statuses = [(r["method"], r["status"]) for r in read_rows(out)]
    assert statuses == [("head_only", "ok"), ("lora", "failed"), ("lora", "ok")]


def test_drop_truncated_tail(tmp_path):
    path = tmp_path / "r.jsonl"
    assert drop_truncated_tail(path) == 0
    append_rows(path, [{"schema_version": 1, "task": "t", "method": "m", "status": "ok", "a": 1}])
    good = path.read_bytes()
    assert drop_truncated_tail(path) == 0 and path.read_bytes() == good
    with open(path, "ab") as f:
        f.write(b'{"schema' * 20000)
    assert drop_truncated_tail(path) == 160000
    assert path.read_bytes() == good


def test_resume_needs_output(capsys):
    assert main(["run", "--resume"]) == 2
    assert "--resume needs --output" in capsys.readouterr().err


def test_timeout_row_and_suite_goes_on(tiny_bert_dir, tmp_path):
    out = tmp_path / "rows.jsonl"
    t0 = time.monotonic()
    # 0.5 s is less than a run needs to load its data and model (its process forked with torch imported, or
    # spawned and importing it), and the task trains for thousands of steps: every run times out
    slow = write_tiny_task(tmp_path / "tasks", name="tiny_slow")
    code = main(
        [
            str(a)
            for a in [
                "run",
                "--model",
                tiny_bert_dir,
                "--tasks",
                slow,
                "--set",
                "task_budget.tiny_slow.epochs=3000",
                "--methods",
                "lora,head_only",
                "--limit",
                "16",
                "--timeout",
                "0.5",
                "--output",
                out,
                *FAST,
            ]
        ]
    )
    assert code == 0
    rows = read_rows(out)
    assert [(r["method"], r["status"]) for r in rows] == [("lora", "timeout"), ("head_only", "timeout")]
    assert "timeout of 0.5 s" in rows[0]["error"] and rows[0]["config_hash"]
    assert time.monotonic() - t0 < 120  # the fork server's imports, two 0.5 s runs, the report: not 3000 epochs
    assert not [p for p in children_of(os.getpid()) if _is_run_child(p)]  # the killed children are gone


def _is_run_child(pid: int) -> bool:
    import psutil

    try:
        proc = psutil.Process(pid)
        return is_run_process(proc) and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_ctrl_c_records_cancelled_and_exits_130(tiny_bert_dir, tmp_path):
    fast = write_tiny_task(tmp_path / "tasks", name="tiny_fast")
    slow = write_tiny_task(tmp_path / "tasks", name="tiny_slow")
    out = tmp_path / "rows.jsonl"
    args = [
        "--model",
        tiny_bert_dir,
        "--tasks",
        f"{fast},{slow}",
        "--methods",
        "head_only",
        "--limit",
        "16",
        "--set",
        "task_budget.tiny_slow.epochs=100000",
        "--tasks-dir",
        tmp_path / "tasks",
        "--output",
        out,
        *FAST,
    ]
    proc = start_suite(args, tmp_path)
    wait_for_rows(out, 1, proc)
    time.sleep(0.5)
    import psutil

    runs = [c for c in psutil.Process(proc.pid).children(recursive=True) if is_run_process(c)]
    os.kill(proc.pid, signal.SIGINT)  # Ctrl-C in the parent, while the slow run trains
    try:
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    err = proc.stderr.read().decode()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    rows = read_rows(out)
    assert [(r["task"], r["status"]) for r in rows] == [("tiny_fast", "ok"), ("tiny_slow", "cancelled")]
    assert runs and not psutil.wait_procs(runs, timeout=10)[1]  # the run's child process is gone


def test_resume_refuses_rows_of_a_task_edited_without_a_version_bump(tiny_bert_dir, tiny_task, tmp_path, capsys):
    """A task file changed under the same version (here its label words) is not the task the rows measured:
    --resume says so in one line, exit 2, and the store is untouched; a bumped version runs anew beside them."""
    out = tmp_path / "rows.jsonl"
    args = [
        "run",
        "--model",
        tiny_bert_dir,
        "--tasks",
        tiny_task,
        "--methods",
        "head_only",
        "--limit",
        "16",
        "--output",
        out,
        "--no-isolate",
        *FAST,
    ]
    assert main(list(map(str, args))) == 0
    (row,) = read_rows(out)
    assert len(row["task_digest"]) == 16
    stored = out.read_bytes()
    yaml = Path(tiny_task)
    yaml.write_text(yaml.read_text().replace('[" negative", " positive"]', '[" bad", " good"]'))
    capsys.readouterr()
    assert main(list(map(str, args)) + ["--resume"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "task tiny_sentiment (version 1) changed since its rows" in err, err
    assert out.read_bytes() == stored
    yaml.write_text(yaml.read_text().replace("version: 1", "version: 2"))
    assert main(list(map(str, args)) + ["--resume"]) == 0
    assert [r["task_version"] for r in read_rows(out)] == [1, 2] and read_rows(out)[1]["task_digest"] != row[
        "task_digest"
    ]


def test_task_digest_follows_the_task_files_content(tiny_task):
    from bench.catalog.tasks import load_task, parse_task
    from bench.config import read_yaml

    task = load_task(str(tiny_task))
    data = read_yaml(Path(tiny_task))
    elsewhere = tiny_task.parent.parent / "elsewhere"  # the task and its data file moved: the same task
    elsewhere.mkdir()
    name = data["source"]["path"]
    (elsewhere / name).write_bytes((tiny_task.parent / name).read_bytes())
    assert parse_task(dict(data), elsewhere / "t.yaml").digest == task.digest  # the path is not the task
    (elsewhere / name).write_bytes((tiny_task.parent / name).read_bytes() + b"one,more\n")
    assert parse_task(dict(data), elsewhere / "t.yaml").digest != task.digest  # its data is
    for key, value in (("prompt", "{text}\nMood:"), ("chat_label_words", ["bad", "good"]), ("description", "x")):
        assert parse_task({**data, key: value}, Path(tiny_task)).digest != task.digest, key

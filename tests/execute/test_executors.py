"""Executors (bench/execute/executors.py): the rows a run that did not report becomes (a crash, the OOM killer, a
timeout, Ctrl-C) carry the run's identity, a status and a one-line error, as the schema declares; `make` refuses
bad names; a run in this process gives its row, or a `cancelled` one on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import sys
from dataclasses import replace

import pytest

from bench.config import Budget, Measure
from bench.errors import BenchError
from bench.execute import executors
from bench.execute.executors import (
    Cancelled,
    LocalExecutor,
    StopOnCtrlC,
    cancelled_row,
    crash_row,
    make,
    run_in_process,
    timeout_row,
)
from bench.execute.run import RunSpec
from bench.rows.fields import undeclared
from tests.conftest import write_tiny_task


def spec_of(task_path="t.yaml", model="m", **kw) -> RunSpec:
    return RunSpec(
        suite="s",
        task="tiny_sentiment",
        task_path=str(task_path),
        model=str(model),
        method="lora",
        seed=3,
        device="cpu",
        budget=kw.pop("budget", Budget(max_steps=1, batch_size=8)),
        measure=Measure(latency_requests=2, infer_repeats=1, infer_batch_size=4, bootstrap_samples=50),
        params={"r": 2},
        show_progress=False,
        config_hash="c" * 64,
        lr_sweep=(1e-3, 1e-2),
        **kw,
    )


def as_stored(row: dict) -> dict:
    return json.loads(json.dumps(row, allow_nan=False))


@pytest.mark.parametrize(
    "make_row,status,words",
    [
        (lambda s: crash_row(s, -signal.SIGKILL), "killed", "killed (SIGKILL)"),
        (lambda s: crash_row(s, -signal.SIGKILL, (0, None), (1, None)), "oom", "by the out-of-memory killer"),
        (lambda s: crash_row(s, -signal.SIGSEGV), "failed", "run process died (SIGSEGV) before reporting a result"),
        (lambda s: crash_row(s, 3), "failed", "run process died (exit code 3)"),
        (lambda s: crash_row(s, None), "failed", "run process died (exit code None)"),
        (lambda s: timeout_row(s, 2.5), "timeout", "exceeded its timeout of 2.5 s"),
        (lambda s: cancelled_row(s), "cancelled", "stopped by Ctrl-C"),
    ],
    ids=["sigkill", "sigkill-oom", "sigsegv", "exit-3", "no-code", "timeout", "cancelled"],
)
def test_rows_of_runs_that_never_reported(make_row, status, words):
    spec = spec_of()
    row = as_stored(make_row(spec))
    assert row["status"] == status and words in row["error"] and "\n" not in row["error"]
    assert (row["kind"], row["config_hash"], row["suite"], row["task"], row["method"], row["seed"]) == (
        "run",
        "c" * 64,
        "s",
        "tiny_sentiment",
        "lora",
        3,
    )
    assert row["method_params"] == {"r": 2} and row["lr_sweep"] == [1e-3, 1e-2]
    assert row["budget"]["max_steps"] == 1 and row["measure"]["bootstrap_samples"] == 50
    assert "wall_s" not in row and "accuracy" not in row  # nothing measured
    assert undeclared(row) == []  # every required field, each of its declared type


def test_each_row_is_a_new_row():
    spec = spec_of()
    assert cancelled_row(spec)["run_id"] != cancelled_row(spec)["run_id"]


def test_make_names_the_valid_executors():
    ex = make("local")
    assert isinstance(ex, LocalExecutor) and ex.name == "local" and ex.isolate
    with pytest.raises(BenchError, match=r"^unknown executor 'slurm'; valid executors: local, ray$"):
        make("slurm")
    with pytest.raises(BenchError, match=r"^--ray-address needs --executor ray$"):
        make("local", "ray://head:10001")


def test_run_in_process_on_a_tiny_task(tmp_path, tiny_bert_dir):
    task = write_tiny_task(tmp_path / "tasks", n=40)
    stop = StopOnCtrlC()
    row = run_in_process(spec_of(task, tiny_bert_dir), stop)
    assert row["status"] == "ok", row["error"]
    assert row["config_hash"] == "c" * 64 and row["train_steps"] == 1 and 0 <= row["accuracy"] <= 1
    assert not stop.interrupt_now  # reset once the run is over
    assert undeclared(as_stored(row)) == []


def test_ctrl_c_during_an_in_process_run_is_a_cancelled_row(monkeypatch):
    seen = {}

    def interrupted(spec):
        seen["interrupt_now"] = stop.interrupt_now  # a Ctrl-C now interrupts at once: no child to stop
        raise KeyboardInterrupt

    monkeypatch.setattr(executors, "execute", interrupted)
    stop = StopOnCtrlC()
    row = run_in_process(spec_of(), stop)
    assert seen == {"interrupt_now": True} and not stop.interrupt_now
    assert row["status"] == "cancelled" and row["config_hash"] == "c" * 64
    with pytest.raises(KeyboardInterrupt):  # without a stop handler there is nobody to record it
        run_in_process(spec_of())


def test_local_executor_stops_at_a_cancelled_run_and_before_the_next(monkeypatch):
    ran = []

    def fake(spec, stop=None):
        ran.append(spec.seed)
        return cancelled_row(spec) if spec.seed == 1 else {"status": "ok", "seed": spec.seed}

    monkeypatch.setattr(executors, "run_in_process", fake)
    ex = make("local")
    ex.isolate = False
    specs = [replace(spec_of(), seed=s) for s in (0, 1, 2)]
    got = []
    with pytest.raises(Cancelled):
        for row in ex.rows(specs, 0, StopOnCtrlC()):
            got.append(row["status"])
    assert ran == [0, 1] and got == ["ok", "cancelled"]  # the cancelled row is yielded (and stored), then it stops
    stop = StopOnCtrlC()
    stop.requested = True
    ran.clear()
    with pytest.raises(Cancelled):
        next(ex.rows(specs, 0, stop))
    assert ran == []  # a stop asked for before a run: nothing more starts


def _env_of_child(conn, environ, cwd):
    executors.adopt_environment(environ, cwd)
    conn.send((os.environ.get("BENCH_TEST_LATE"), os.getcwd(), os.getpid()))


@pytest.mark.skipif(sys.platform != "linux", reason="the fork server is the default on Linux")
def test_runs_fork_from_a_server_by_default_and_see_the_suites_environment_and_folder_now(monkeypatch, tmp_path):
    """The fork server starts once; a variable set and a folder entered after it started still reach the run."""
    monkeypatch.delenv("ADAPTER_BENCH_START", raising=False)
    ctx = executors.process_context()
    assert ctx.get_start_method() == "forkserver"  # the default
    executors.start_process_server()
    monkeypatch.setenv("BENCH_TEST_LATE", "seen")
    monkeypatch.chdir(tmp_path)
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_env_of_child, args=(send, dict(os.environ), os.getcwd()))
    proc.start()
    value, cwd, pid = recv.recv()
    proc.join(30)
    assert value == "seen" and cwd == str(tmp_path) and pid != os.getpid() and proc.exitcode == 0
    monkeypatch.setenv("ADAPTER_BENCH_START", "spawn")
    assert executors.process_context().get_start_method() == "spawn"  # the opt-out


def test_an_unknown_start_method_is_one_line_naming_the_valid_ones(monkeypatch):
    monkeypatch.setenv("ADAPTER_BENCH_START", "fork")
    with pytest.raises(BenchError, match="ADAPTER_BENCH_START='fork'.*valid: forkserver, spawn"):
        executors.process_context()

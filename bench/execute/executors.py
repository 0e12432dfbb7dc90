"""Where runs execute: `local` (a child process per run, or in this process) or `ray` (one
Ray task per run, on a cluster or a local Ray). Each executor yields one row per run as it ends;
the suite appends it to the store. Ctrl-C and per-run timeouts become rows here: a run that was
stopped is `cancelled`, one that ran past its timeout is `timeout`."""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator

from bench.errors import BenchError
from bench.execute.device import resolve_device
from bench.execute.run import RunSpec, base_row, execute

EXECUTORS = ("local", "ray")
POLL_S = 0.1  # how often the parent looks at Ctrl-C and deadlines while a run is in flight


class Cancelled(KeyboardInterrupt):
    """Ctrl-C: the run(s) in flight were recorded as `cancelled` and the suite stopped."""


class StopOnCtrlC:
    """The first Ctrl-C (or SIGTERM, as a job scheduler stops a job) asks the suite to stop: in-flight runs
    end and are recorded as `cancelled`. A second one (or the first, while a run executes in this process)
    interrupts at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.requested = False
        self.interrupt_now = False  # set while a run executes in-process: there is no child to stop
        self._previous = {}

    def _handle(self, signum, frame):
        if self.requested or self.interrupt_now:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._handle) for sig in self.SIGNALS}
        return self

    def __exit__(self, *exc):
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        return False


@contextlib.contextmanager
def _sigint_ignored():
    """While a child process starts: SIGINT ignored, so the child starts with it ignored (Python then installs
    no KeyboardInterrupt of its own there) and a Ctrl-C mid-start prints no traceback from the child."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def cancelled_row(spec: RunSpec) -> dict:
    row = base_row(spec)
    row.update(status="cancelled", error="stopped by Ctrl-C (SIGINT) or SIGTERM before it finished; --resume reruns it")
    return row


def timeout_row(spec: RunSpec, timeout_s: float) -> dict:
    row = base_row(spec)
    row.update(status="timeout", error=f"run exceeded its timeout of {timeout_s:g} s and was killed")
    return row


def make(name: str, ray_address: str = ""):
    """An executor by name; fails (BenchError) before anything starts if it cannot be used."""
    if name not in EXECUTORS:
        raise BenchError(f"unknown executor {name!r}; valid executors: {', '.join(EXECUTORS)}")
    if ray_address and name != "ray":
        raise BenchError("--ray-address needs --executor ray")
    if name == "ray":
        return RayExecutor(ray_address)
    return LocalExecutor()


# ----------------------------------------------------------------------------- local


class LocalExecutor:
    """One run after another; each in a fresh child process (isolate) or in this one."""

    name = "local"

    def __init__(self):
        self.isolate = True

    def start(self) -> None:
        if self.isolate:
            start_process_server()

    def close(self) -> None:
        pass

    def resolve_device(self, requested: str) -> str:

        return resolve_device(requested)

    def rows(self, specs: list[RunSpec], timeout_s: float, stop: StopOnCtrlC) -> Iterator[dict]:
        for spec in specs:
            if stop.requested:
                raise Cancelled
            row = run_isolated(spec, timeout_s, stop) if self.isolate else run_in_process(spec, stop)
            yield row
            if row["status"] == "cancelled":
                raise Cancelled


def run_in_process(spec: RunSpec, stop: StopOnCtrlC | None = None) -> dict:
    if stop is None:
        return execute(spec)
    stop.interrupt_now = True
    try:
        return execute(spec)
    except KeyboardInterrupt:
        return cancelled_row(spec)
    finally:
        stop.interrupt_now = False


def _die_with_parent(parent_pid: int) -> None:
    """Linux: the kernel kills this child when its parent dies (even by SIGKILL), so no orphan
    keeps training (or holding a GPU) after the suite is gone. A parent that died before the request
    took effect is seen here (the child was re-parented): the child exits at once. A child forked by the
    suite's fork server has that server as its parent, and the server exits when the suite does."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if parent_pid not in (os.getppid(), _parent_of(os.getppid())):
        os._exit(1)


def _parent_of(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _child(spec: RunSpec, conn, parent_pid: int, environ: dict | None = None, cwd: str | None = None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    _die_with_parent(parent_pid)
    adopt_environment(environ, cwd)
    from tqdm import tqdm

    tqdm.set_lock(threading.RLock())  # tqdm's default multiprocessing lock leaks a semaphore when SIGTERM stops a run
    conn.send(execute(spec))
    conn.close()


def adopt_environment(environ: dict | None, cwd: str | None = None) -> None:
    """A child forked by the fork server takes the suite's environment and working folder as they are now, not
    the server's at its start (None: a spawned child, which inherited them)."""
    if environ is not None:
        os.environ.clear()
        os.environ.update(environ)
        os.chdir(cwd or os.getcwd())


# Imported once by the fork server (about 5 s of CPU a run saved on 2 cores). A fork of a process that imported
# them but ran no torch op (no thread pool yet) is safe; the run resets its memory peak and seeds itself.
PRELOAD = ["bench.execute.run", "transformers", "peft"]
PRELOAD += [f"transformers.models.{m}.modeling_{m}" for m in ("bert", "llama")]
START_METHODS = ("forkserver", "spawn")  # ADAPTER_BENCH_START's values


def start_method() -> str:
    """`forkserver` on Linux (where multiprocessing has it), else `spawn`; ADAPTER_BENCH_START=spawn opts out."""
    asked = os.environ.get("ADAPTER_BENCH_START", "")
    if asked and asked not in START_METHODS:
        raise BenchError(f"ADAPTER_BENCH_START={asked!r} is not a start method; valid: {', '.join(START_METHODS)}")
    if asked == "spawn" or not sys.platform.startswith("linux") or "forkserver" not in mp.get_all_start_methods():
        return "spawn"
    return "forkserver"


def process_context():
    """Where a run's child process comes from (start_method): forked by the fork server, PRELOAD imported there
    once, or a fresh interpreter (spawn)."""
    if start_method() == "forkserver":
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        return ctx
    return mp.get_context("spawn")


def start_process_server() -> None:
    """Start the fork server now, before the suite fetches and reads its data: its imports run meanwhile. Started
    with SIGINT ignored, as a run's process starts (its children restore what the server started with)."""
    if process_context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        with _sigint_ignored():
            forkserver.ensure_running()


def oom_kills() -> tuple[int | None, int | None]:
    """(this cgroup's memory.events oom_kill, the kernel's /proc/vmstat oom_kill): None where unreadable."""
    cgroup = None
    try:
        with open("/proc/self/cgroup") as f:
            rel = next((line.split(":", 2)[2].strip() for line in f if line.startswith("0::")), None)
        if rel is not None:
            with open(f"/sys/fs/cgroup{rel.rstrip('/')}/memory.events") as f:
                cgroup = next((int(line.split()[1]) for line in f if line.startswith("oom_kill ")), None)
    except (OSError, ValueError, IndexError):
        cgroup = None
    try:
        with open("/proc/vmstat") as f:
            kernel = next((int(line.split()[1]) for line in f if line.startswith("oom_kill ")), None)
    except (OSError, ValueError, IndexError):
        kernel = None
    return cgroup, kernel


def _end(proc, gently: bool) -> None:
    if proc.is_alive() and gently:
        proc.terminate()
        proc.join(5)
    if proc.is_alive():
        proc.kill()
    proc.join()


def run_isolated(spec: RunSpec, timeout_s: float = 0, stop: StopOnCtrlC | None = None) -> dict:
    """Run in a fresh process (process_context): its peak memory is the run's own; a crash, a timeout and
    a Ctrl-C are rows."""
    ctx = process_context()
    recv, send = ctx.Pipe(duplex=False)
    ooms = oom_kills()
    forked = ctx.get_start_method() == "forkserver"
    environ, cwd = (dict(os.environ), os.getcwd()) if forked else (None, None)
    proc = ctx.Process(target=_child, args=(spec, send, os.getpid(), environ, cwd), daemon=True)
    # a forked child has SIGINT ignored from the server; its start waits for the server's imports: not shielded
    with contextlib.nullcontext() if forked else _sigint_ignored():
        proc.start()
    send.close()
    deadline = time.monotonic() + timeout_s if timeout_s else None
    try:
        while True:
            if recv.poll(POLL_S):
                try:
                    row = recv.recv()
                except EOFError:
                    break  # the child died without a result
                proc.join(30)
                return row
            if stop is not None and stop.requested:
                _end(proc, gently=True)
                return cancelled_row(spec)
            if deadline is not None and time.monotonic() > deadline:
                _end(proc, gently=False)
                return timeout_row(spec, timeout_s)
    finally:
        _end(proc, gently=False)  # a no-op unless something above raised (a second Ctrl-C)
        recv.close()
    if stop is not None and stop.requested:
        return cancelled_row(spec)
    return crash_row(spec, proc.exitcode, ooms_before=ooms)


def crash_row(spec: RunSpec, code: int | None, ooms_before=(None, None), ooms_after=None) -> dict:
    """A child that died without a result. SIGKILL is `oom` only on evidence (the cgroup's or the kernel's
    OOM-kill count rose while it ran), else `killed`: a user's kill -9 or a scheduler's preemption."""
    row = base_row(spec)
    after = oom_kills() if ooms_after is None else ooms_after
    rose = [w for w, b, a in zip(("cgroup", "kernel"), ooms_before, after) if b is not None and a is not None and a > b]
    if code == -signal.SIGKILL and rose:
        row.update(
            status="oom",
            error=f"run process was killed (SIGKILL) by the out-of-memory killer ({rose[0]} OOM count rose)",
        )
    elif code == -signal.SIGKILL:
        row.update(
            status="killed", error="killed (SIGKILL) from outside the suite, with no sign of an out-of-memory kill"
        )
    else:
        name = signal.Signals(-code).name if code is not None and code < 0 else f"exit code {code}"
        row.update(status="failed", error=f"run process died ({name}) before reporting a result")
    return row


# ----------------------------------------------------------------------------- ray


def _ray_run(spec: RunSpec) -> dict:
    """A Ray task: one run in a Ray worker process that exits after it (max_calls=1), so peak
    memory is the run's own, as with the local child process."""
    return execute(spec)


class RayExecutor:
    """One Ray task per run: one GPU each when the cluster has GPUs (Ray pins the task to it
    through CUDA_VISIBLE_DEVICES), else `cpus_per_run` CPUs. At most as many runs in flight as the
    cluster has slots, so a Ctrl-C cancels only runs that are executing."""

    name = "ray"
    cpus_per_run = 1

    def __init__(self, address: str = ""):
        try:
            import ray
        except ImportError:
            raise BenchError(
                "--executor ray needs Ray, which is not installed: pip install 'adapter-bench[ray]' "
                "(or pip install ray); or use --executor local"
            ) from None
        self.ray = ray
        self.address = address
        self._started_here = False
        self.gpus = 0

    def start(self) -> None:
        ray = self.ray
        if not ray.is_initialized():  # else: a Ray the caller started (tests, notebooks) is used as it is
            try:
                ray.init(
                    address=self.address or None,
                    include_dashboard=False,
                    log_to_driver=False,
                    logging_level="ERROR",
                    configure_logging=True,
                )
            except (ConnectionError, RuntimeError, ValueError) as e:
                where = self.address or "a local Ray"
                raise BenchError(f"cannot start or reach Ray at {where}: {str(e).splitlines()[0]}") from None
            self._started_here = True
        self.gpus = int(ray.cluster_resources().get("GPU", 0))

    def close(self) -> None:
        if self._started_here:
            self.ray.shutdown()

    def resolve_device(self, requested: str) -> str:
        """The cluster's resources decide, not this (driver) machine's."""
        if requested == "cuda" and not self.gpus:
            raise BenchError("--device cuda: the Ray cluster has no GPUs; valid devices here: auto, cpu")
        return "cuda" if requested in ("auto", "cuda") and self.gpus else "cpu"

    def rows(self, specs: list[RunSpec], timeout_s: float, stop: StopOnCtrlC) -> Iterator[dict]:
        ray = self.ray
        on_gpu = any(s.device == "cuda" for s in specs)
        task = ray.remote(max_calls=1, max_retries=0)(_ray_run).options(
            num_gpus=1 if on_gpu else 0, num_cpus=0 if on_gpu else self.cpus_per_run
        )
        resources = ray.cluster_resources()
        slots = int(resources.get("GPU", 0)) if on_gpu else int(resources.get("CPU", 1) // self.cpus_per_run)
        pending, in_flight = list(specs), {}  # ref -> (spec, submitted at)
        while pending or in_flight:
            while pending and len(in_flight) < max(1, slots):
                spec = pending.pop(0)
                in_flight[task.remote(spec)] = (spec, time.monotonic())
            done, _ = ray.wait(list(in_flight), num_returns=1, timeout=POLL_S)
            for ref in done:
                yield self._result(ref, in_flight.pop(ref)[0])
            if stop.requested:
                for ref, (spec, _) in list(in_flight.items()):
                    ray.cancel(ref, force=True)
                    yield cancelled_row(spec)
                raise Cancelled
            now = time.monotonic()
            for ref, (spec, t0) in list(in_flight.items()):
                if timeout_s and now - t0 > timeout_s:
                    ray.cancel(ref, force=True)
                    del in_flight[ref]
                    yield timeout_row(spec, timeout_s)

    def _result(self, ref, spec: RunSpec) -> dict:
        from ray import exceptions as rex

        try:
            return self.ray.get(ref)
        except rex.OutOfMemoryError as e:
            row = base_row(spec)
            row.update(status="oom", error=f"Ray killed the run's worker for memory: {str(e).splitlines()[0]}")
        except rex.RayError as e:  # the worker crashed, or the task could not run
            row = base_row(spec)
            row.update(status="failed", error=f"{type(e).__name__}: {str(e).strip().splitlines()[0]}")
        return row

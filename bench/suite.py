"""A suite: validate everything up front, prepare assets once, run each (task, method, seed) in its
own child process, append each row to the store as soon as it exists."""

from __future__ import annotations

import multiprocessing as mp
import signal
from dataclasses import replace
from pathlib import Path

from tqdm.auto import tqdm

from bench import methods, models, tasks
from bench.config import SuiteConfig, update_dataclass
from bench.errors import BenchError
from bench.results import append_rows
from bench.run import RunSpec, base_row, execute


def resolve_device(requested: str) -> str:
    import torch

    if requested not in ("auto", "cpu", "cuda"):
        raise BenchError(f"unknown device {requested!r}; valid devices: auto, cpu, cuda")
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise BenchError("--device cuda: CUDA is not available on this machine; valid devices here: auto, cpu")
    return requested


def plan(cfg: SuiteConfig, tasks_dirs: list[Path] | None = None, show_progress: bool = True) -> list[RunSpec]:
    """Every run of the suite, with all names and parameters checked before anything runs."""
    if not cfg.tasks or not cfg.methods or not cfg.seeds:
        raise BenchError("a suite needs at least one task, one method and one seed")
    unknown = set(cfg.params) - set(cfg.methods)
    if unknown:
        raise BenchError(f"params given for method(s) not in this suite: {', '.join(sorted(unknown))}; "
                         f"suite methods: {', '.join(cfg.methods)}")
    known = set(tasks.task_files(tasks_dirs)) | set(cfg.tasks)
    unknown = set(cfg.task_budget) - known
    if unknown:
        raise BenchError(f"task_budget given for unknown task(s): {', '.join(sorted(unknown))}; "
                         f"valid tasks: {', '.join(sorted(known))}")
    budgets = {t: update_dataclass(cfg.budget, cfg.task_budget.get(t, {}), f"task_budget.{t}.") for t in cfg.tasks}
    loaded = {name: tasks.load_task(name, tasks_dirs) for name in cfg.tasks}
    for name in cfg.methods:
        methods.resolve(name, cfg.params.get(name, {}))
    models.resolve(cfg.model)
    for b in budgets.values():
        if b.batch_size < 1 or b.max_length < 2 or b.epochs < 1 or b.max_steps < 0:
            raise BenchError("budget: batch_size >= 1, max_length >= 2, epochs >= 1 and max_steps >= 0 are required")
    if cfg.switch not in ("", "quick"):
        raise BenchError(f"switch: {cfg.switch!r}; valid values: quick, or empty for no switching sweep")
    device = resolve_device(cfg.device)
    return [RunSpec(suite=cfg.name, task=loaded[t].name, task_path=loaded[t].path, model=cfg.model, method=m,
                    seed=s, device=device, budget=budgets[t], measure=cfg.measure, params=dict(cfg.params.get(m, {})),
                    show_progress=show_progress)
            for t in cfg.tasks for m in cfg.methods for s in cfg.seeds]


def prepare(specs: list[RunSpec]) -> None:
    """Fetch and cache assets once in the parent, so children only read the cache (and a bad
    checksum stops the suite before any run)."""
    for name in sorted({s.model for s in specs}):
        spec = models.resolve(name)
        if not spec.location and not models.is_cached(spec):
            print(f"preparing model {name}: fetching and caching it once", flush=True)
        models.local_path(spec)
    for name in sorted({s.task for s in specs}):
        spec = next(s for s in specs if s.task == name)
        tasks.load_examples(tasks.load_task(spec.task_path))


def _child(spec: RunSpec, conn) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    conn.send(execute(spec))
    conn.close()


def run_isolated(spec: RunSpec) -> dict:
    """Run in a fresh (spawned) process: its peak memory is the run's own; a crash is a row."""
    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(spec, send), daemon=True)
    proc.start()
    send.close()
    row = None
    try:
        row = recv.recv()
    except EOFError:
        pass
    finally:
        proc.join()
    if row is not None:
        return row
    row = base_row(spec)
    code = proc.exitcode
    if code == -signal.SIGKILL:
        row.update(status="oom", error="run process was killed (SIGKILL), most likely by the out-of-memory killer")
    else:
        name = signal.Signals(-code).name if code is not None and code < 0 else f"exit code {code}"
        row.update(status="failed", error=f"run process died ({name}) before reporting a result")
    return row


def run_suite(cfg: SuiteConfig, output: Path, tasks_dirs: list[Path] | None = None,
              show_progress: bool = True) -> list[dict]:
    adapters = output.with_name(output.stem + ".adapters")  # beside the rows: <results>.adapters/<run_id>/
    specs = [replace(s, adapters_dir=str(adapters)) for s in plan(cfg, tasks_dirs, show_progress)]
    prepare(specs)
    rows = []
    bar = tqdm(specs, desc=f"suite {cfg.name}", unit="run", disable=not show_progress)
    for spec in bar:
        bar.set_postfix_str(f"{spec.task} / {spec.method} / seed {spec.seed}")
        row = run_isolated(spec) if cfg.isolate else execute(replace(spec))
        append_rows(output, [row])
        rows.append(row)
        if row["status"] != "ok":
            tqdm.write(f"  {spec.task} / {spec.method}: {row['status']}: {row['error']}")
    bar.close()
    return rows

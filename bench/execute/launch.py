"""Running a suite's plan (bench/execute/suite.py): skip what a resumed store already has, prepare assets once,
hand the runs to an executor (bench/execute/executors.py), append each row to the store as soon as it exists."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tqdm.auto import tqdm

from bench.catalog import models, readiness, shapes, tasks
from bench.config import SuiteConfig
from bench.errors import BenchError
from bench.execute import executors
from bench.execute.identity import finished, ok_runs
from bench.execute.spec import RunSpec
from bench.execute.suite import check_device_name, plan
from bench.rows.store import append_rows, check_writable, drop_truncated_tail, locked, read_rows


def prepare(specs: list[RunSpec]) -> None:
    """Fetch and cache assets once in the parent, so children only read the cache (and a bad
    checksum stops the suite before any run). Shape-only models' runs need neither weights nor examples."""
    for name in sorted({s.model for s in specs if not shapes.is_shape(s.model)}):
        spec = models.resolve(name)
        if not spec.location and not models.is_cached(spec):
            print(f"preparing model {name}: fetching and caching it once", flush=True)
        models.local_path(spec)
    for name in sorted({s.task for s in specs if not shapes.is_shape(s.model)}):  # a shape's runs read no examples
        spec = next(s for s in specs if s.task == name)
        tasks.load_examples(tasks.load_task(spec.task_path))


def run_suite(
    cfg: SuiteConfig,
    output: Path,
    tasks_dirs: list[Path] | None = None,
    show_progress: bool = True,
    resume: bool = False,
    executor: str = "local",
    ray_address: str = "",
) -> list[dict]:
    """Run the suite's runs (with `resume`, those without an `ok` row in `output` yet) and append each
    row as it ends. Returns the suite's rows: those already there, then the new ones. Ctrl-C:
    raises executors.Cancelled after recording the runs in flight as `cancelled`."""
    ex = executors.make(executor, ray_address)
    if ex.name == "local":
        ex.isolate = cfg.isolate
        if cfg.timeout_s and not cfg.isolate:
            raise BenchError("a run timeout needs isolated runs (one process each): drop --no-isolate or the timeout")
    specs = plan(cfg, tasks_dirs, show_progress and ex.name == "local", device_for=check_device_name)
    readiness.check_plan(cfg.model.name, list(cfg.tasks), tasks_dirs)  # what cannot be had: refused up front
    if ex.name == "local":  # a device this machine lacks is refused before the results file or its lock exist
        ex.resolve_device(cfg.device)
    check_writable(output)
    with locked(output):  # one writer for the life of the run: a second one is refused
        return _run_locked(cfg, ex, specs, output, show_progress, resume)


def _run_locked(cfg: SuiteConfig, ex, specs: list[RunSpec], output: Path, show_progress: bool, resume: bool):
    done = ok_runs(read_rows(output)) if resume and output.exists() else {}
    found = [(s, finished(done, s.config_hash, s.also_hash)) for s in specs]
    todo = [s for s, row in found if not row]
    kept = [row for _, row in found if row]
    _check_tasks_unchanged(found, output)
    if resume:
        print(f"resume: {len(kept)} of {len(specs)} runs already ok in {output}; running {len(todo)}", flush=True)
    if not todo:
        return kept
    adapters = output.with_name(output.stem + ".adapters")  # beside the rows: <results>.adapters/<run_id>/
    ex.start()
    try:
        device = ex.resolve_device(cfg.device)
        todo = [replace(s, adapters_dir=str(adapters) if cfg.keep_adapters else "", device=device) for s in todo]
        prepare(todo)
        drop_truncated_tail(output)
        return kept + _collect(ex, todo, cfg, output, show_progress, initial=len(kept), total=len(specs))
    finally:
        ex.close()


def _check_tasks_unchanged(found: list[tuple[RunSpec, dict | None]], output: Path) -> None:
    """--resume must not keep rows measured on another definition of a task of the same version (rows
    written before digests were recorded are kept)."""
    for s, row in found:
        if row and row.get("task_digest") and row["task_digest"] != s.task_digest:
            raise BenchError(
                f"--resume: task {s.task} (version {s.task_version}) changed since its rows in {output} "
                f"were recorded (task digest {row['task_digest']}, now {s.task_digest}); bump the task's "
                "version (the changed task then runs anew beside the old rows) or give a new --output"
            )


def _collect(
    ex, specs: list[RunSpec], cfg: SuiteConfig, output: Path, show_progress: bool, initial: int, total: int
) -> list[dict]:
    rows = []
    bar = tqdm(
        total=total, initial=initial, desc=f"suite {cfg.name} ({ex.name})", unit="run", disable=not show_progress
    )
    try:
        with executors.StopOnCtrlC() as stop:
            for row in ex.rows(specs, cfg.timeout_s, stop):
                append_rows(output, [row])
                rows.append(row)
                bar.update(1)
                bar.set_postfix_str(f"last: {row['task']} / {row['method']} / seed {row['seed']}")
                if row["status"] != "ok":
                    tqdm.write(
                        f"  {row['task']} / {row['method']} / seed {row['seed']}: {row['status']}: {row['error']}"
                    )
    finally:
        bar.close()
    return rows

"""Which rows the deployment decision reads (pure): the ok runs and serve rows of one model, one run per method
of the decision's task, the serve rows at N tasks, and the runs it leaves out, each with its reason (bench/serving/
deploy.py decides on them)."""

from __future__ import annotations

from bench.analysis import health
from bench.analysis.selection import main_rows, speed_only
from bench.errors import BenchError
from bench.rows.schema import kind_of


def model_of(r: dict) -> str:
    return str(r.get("model"))


def split_rows(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """(ok run rows, ok serve rows on pretrained weights); one model for both, else one line naming them."""
    runs = [r for r in health.healthy(rows) if kind_of(r) == "run" and r.get("status") == "ok"]
    serves = [r for r in rows if kind_of(r) == "serve" and r.get("status", "ok") == "ok"]
    run_models, serve_models = sorted({model_of(r) for r in runs}), sorted({model_of(r) for r in serves})
    if len(run_models) > 1 or len(serve_models) > 1 or (run_models and serve_models and run_models != serve_models):
        raise BenchError(
            f"run rows of {', '.join(run_models) or 'no model'} with serve rows of {', '.join(serve_models) or 'no model'}: "
            "give the runs and the serve rows of one model"
        )
    if not runs:
        raise BenchError("no ok run rows among the files: the decision needs accuracies (python -m bench run ...)")
    return runs, serves


def check_n(serves: list[dict], n: int) -> None:
    served = sorted({int(r["n_tasks"]) for r in serves})
    if served and n > served[-1]:
        raise BenchError(f"--tasks-n {n}: beyond the served numbers of tasks (largest served N: {served[-1]})")


def _seed(r: dict) -> tuple:
    s = r.get("seed")
    return (not isinstance(s, int), s if isinstance(s, int) else 0, str(s))


def runs_by_method(runs: list[dict], task: str | None) -> tuple[str, dict[str, dict]]:
    """The task and one run per method (the lowest seed's); several tasks need `task`."""
    tasks = list(dict.fromkeys(str(r.get("task")) for r in runs))
    if task is None and len(tasks) > 1:
        raise BenchError(f"the runs cover several tasks: choose one with --task ({', '.join(tasks)})")
    task = task or tasks[0]
    if task not in tasks:
        raise BenchError(f"--task {task}: no ok run of it; valid: {', '.join(tasks)}")
    out: dict[str, dict] = {}
    for r in sorted((r for r in runs if r.get("task") == task), key=_seed):
        out.setdefault(str(r.get("method")), r)
    return task, out


def left_out(rows: list[dict], task: str, used: set[str], servable) -> tuple[tuple[str, ...], set[str]]:
    """The task's ok runs the decision does not read, and why (one line per run the health checks flag, one
    line summing each other reason), and the methods all of whose runs were flagged. `used`: the run ids it
    reads; `servable`: the methods some strategy serves."""
    ok = [r for r in rows if kind_of(r) == "run" and r.get("status") == "ok" and r.get("task") == task]
    main = {id(r) for r in main_rows(rows)}
    flagged = [(r, w) for r in ok if id(r) in main and (w := health.run_warning(r))]
    lines = [
        f"{r.get('method')} seed {r.get('seed')} ({r.get('run_id')}): flagged by the health checks: {w}"
        for r, w in flagged
    ]
    bad = {id(r) for r, _ in flagged}
    rest = [r for r in ok if id(r) in main and id(r) not in bad and r.get("run_id") not in used]
    why = {
        "on random weights (speed only, no accuracy)": [r for r in ok if speed_only(r)],
        "at a sweep's setting not selected": [r for r in ok if id(r) not in main and not speed_only(r)],
        "of a method no serving strategy here serves": [r for r in rest if r.get("method") not in servable],
        "beside the one run paired per method (the lowest seed's, the first read among equals)": [
            r for r in rest if r.get("method") in servable
        ],
    }
    for reason, rs in why.items():
        if rs:
            methods = ", ".join(dict.fromkeys(str(r.get("method")) for r in rs))
            lines.append(f"{len(rs)} run{'s' * (len(rs) > 1)} {reason}: {methods}")
    read = {str(r.get("method")) for r in ok if r.get("run_id") in used}
    return tuple(lines), {str(r.get("method")) for r, _ in flagged} - read


def served_task(serves: list[dict]) -> str | None:
    """The one task whose test inputs the serve rows served (serve --adapters-from), if there is one."""
    tasks = {t for r in serves for t in r.get("requests_from") or ()}
    return tasks.pop() if len(tasks) == 1 else None


def serves_at(serves: list[dict], n: int) -> dict[str, dict]:
    """strategy -> the last serve row at N tasks."""
    return {r["strategy"]: r for r in serves if int(r["n_tasks"]) == n}

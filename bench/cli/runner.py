"""The `run` command once its input is checked (bench/cli/run.py): run the suite, then its switching sweep;
print the summary, results and report paths. Imported only then: it brings torch and all that measuring needs."""

from __future__ import annotations

import sys
from pathlib import Path

from bench.analysis.selection import speed_only
from bench.cli.options import not_ok_lines
from bench.config import serve_of, switch_of
from bench.execute.launch import run_suite
from bench.render.html import report_after_run
from bench.render.terminal import (
    paired_table,
    serve_table,
    speed_table,
    summary_table,
    sweep_table,
    switch_table,
    warnings_text,
)
from bench.rows.schema import kind_of
from bench.rows.store import read_rows
from bench.serving.run import run_serve
from bench.switching.sweep import run_sweep


def run(args, cfg, output: Path) -> int:
    """Run the checked suite `cfg` into `output` (the options in `args`), then its switching sweep and serving
    run; print the tables, the results path and the report path."""
    rows = run_suite(
        cfg,
        output,
        args.tasks_dir,
        show_progress=not args.no_progress,
        resume=args.resume,
        executor=args.executor,
        ray_address=args.ray_address,
    )
    study = study_rows(cfg, output, resume=args.resume, show_progress=not args.no_progress)
    print()
    if not all(speed_only(r) for r in rows):  # runs on random weights have a table of their own
        print(summary_table(rows))
    failed = sum(r["status"] != "ok" for r in rows)
    print(f"\n{len(rows)} runs, {len(rows) - failed} ok, {failed} not ok")
    for extra in (speed_table(rows), sweep_table(rows), paired_table(rows), warnings_text(rows)):
        if extra:
            print("\n" + extra)
    for kind, table in (("switch", switch_table), ("serve", serve_table)):
        done = [r for r in study if kind_of(r) == kind]
        if done:
            print("\n" + table(done) + "\n" + "\n".join(not_ok_lines(done, f"{kind} rows")))
    print(f"results: {output}")

    print(f"report: {report_after_run(rows + study, output, default_location=args.output is None)}")
    return 0


def _has_rows(output: Path, kind: str) -> bool:
    return output.exists() and any(kind_of(r) == kind for r in read_rows(output))


def study_rows(cfg, output: Path, resume: bool, show_progress: bool) -> list[dict]:
    """The suite's switching sweep and serving run (its `switch:` and `serve:` sections) on its model, appended
    to the same results; a resumed suite keeps those it already has. A strategy that fails is a row of its
    own; a sweep that cannot start at all is a warning, and the runs stay recorded."""
    rows = []
    sweep, serve = switch_of(cfg, output), serve_of(cfg)
    if sweep and not (resume and _has_rows(output, "switch")):
        print(
            f"suite {cfg.name}: switching sweep on {cfg.model.name} (the quick one: about a minute on MiniLM, far "
            "longer on a larger model); --set switch= skips it",
            flush=True,
        )
        rows += _guarded("switching sweep", run_sweep, sweep, output, show_progress=show_progress)
    if serve and not (resume and _has_rows(output, "serve")):
        print(f"suite {cfg.name}: serving run on {cfg.model.name}; --set serve= skips it", flush=True)
        rows += _guarded("serving run", run_serve, serve, output, log=lambda m: print(m, flush=True))
    return rows


def _guarded(what: str, fn, *args, **kw) -> list[dict]:
    try:
        return fn(*args, **kw)
    except Exception as e:  # noqa: BLE001 - the runs are recorded; a sweep that cannot start must not hide them
        print(f"warning: {what} failed: {type(e).__name__}: {e}", file=sys.stderr)
        return []

"""The `run` command once its input is checked (bench/cli/run.py): run the suite, then its switching sweep;
print the summary, results and report paths. Imported only then: it brings torch and all that measuring needs."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from bench.analysis.selection import speed_only
from bench.execute.launch import run_suite
from bench.render.html import report_after_run
from bench.render.terminal import (
    paired_table,
    speed_table,
    summary_table,
    sweep_table,
    switch_table,
    warnings_text,
)
from bench.rows.store import read_rows
from bench.switching.sweep import QUICK, run_sweep


def run(args, cfg, output: Path) -> int:
    """Run the checked suite `cfg` into `output` (the options in `args`), then its switching sweep; print the
    tables, the results path and the report path."""
    rows = run_suite(
        cfg,
        output,
        args.tasks_dir,
        show_progress=not args.no_progress,
        resume=args.resume,
        executor=args.executor,
        ray_address=args.ray_address,
    )
    switch_rows = []
    if not (args.resume and _has_switch_rows(output)):  # a resumed suite keeps the sweep it already has
        switch_rows = switch_sweep(cfg, output, show_progress=not args.no_progress)
    print()
    if not all(speed_only(r) for r in rows):  # runs on random weights have a table of their own
        print(summary_table(rows))
    failed = sum(r["status"] != "ok" for r in rows)
    print(f"\n{len(rows)} runs, {len(rows) - failed} ok, {failed} not ok")
    for extra in (speed_table(rows), sweep_table(rows), paired_table(rows), warnings_text(rows)):
        if extra:
            print("\n" + extra)
    if switch_rows:
        print("\n" + switch_table(switch_rows))
    print(f"results: {output}")

    print(f"report: {report_after_run(rows + switch_rows, output, default_location=args.output is None)}")
    return 0


def _has_switch_rows(output: Path) -> bool:
    return output.exists() and any(r.get("kind") == "switch" for r in read_rows(output))


def switch_sweep(cfg, output: Path, show_progress: bool) -> list[dict]:
    """The suite's switching sweep (`switch: quick`), appended to the same results."""
    if not cfg.switch:
        return []
    m = cfg.model
    sweep = replace(QUICK, model=m.name, layers=m.layers, dtype=m.dtype, device=cfg.device, adapters_from=str(output))
    print(
        f"suite {cfg.name}: quick switching sweep on {m.name} (about a minute on MiniLM, far longer on a "
        "larger model); --set switch= skips it",
        flush=True,
    )
    try:
        return run_sweep(sweep, output, show_progress=show_progress)
    except Exception as e:  # noqa: BLE001 - the runs are recorded; a failed sweep must not hide them
        print(f"warning: switching sweep failed: {type(e).__name__}: {e}", file=sys.stderr)
        return []

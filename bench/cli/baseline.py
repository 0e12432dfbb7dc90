"""`python -m bench baseline save|path`: per-machine baselines under results/baselines/<machine_class>/."""

from __future__ import annotations

from pathlib import Path

from bench.cli import COMMANDS
from bench.errors import BenchError
from bench.measure.environment import machine_class
from bench.rows.baselines import baseline_path, newest_results, save_baseline
from bench.rows.store import in_progress, read_rows


def add_parser(sub) -> None:
    p = sub.add_parser("baseline", help=COMMANDS["baseline"][1])
    bsub = p.add_subparsers(dest="baseline_command", required=True, parser_class=type(p))
    s = bsub.add_parser("save", help="save a run's rows as this machine's baseline for its suite")
    s.add_argument("results", type=Path, nargs="?", help="rows (.jsonl; default: the newest in results/runs/)")
    s.add_argument("--root", type=Path, help="baselines folder (default: results/baselines)")
    s.add_argument("--force", action="store_true", help="replace an existing baseline")
    s.set_defaults(func=cmd_save)
    w = bsub.add_parser("path", help="print this machine's baseline path for a suite (exit 1 if there is none)")
    w.add_argument("--suite", default="smoke", help="the suite whose baseline (default: smoke)")
    w.add_argument("--root", type=Path, help="baselines folder (default: results/baselines)")
    w.set_defaults(func=cmd_path)


def cmd_save(args) -> int:
    results = args.results or newest_results()
    if in_progress(results):  # a suite still running: its rows so far are not the suite's baseline
        picked = "" if args.results else " (the newest in results/runs/)"
        raise BenchError(
            f"{results}{picked} is still being written by a run (it holds the file's lock); save the baseline "
            "once that run has ended"
        )
    rows = read_rows(results)
    path = save_baseline(rows, args.root, args.force)
    print(f"baseline: {path} ({len(rows)} rows)")
    return 0


def cmd_path(args) -> int:
    path = baseline_path(machine_class(), args.suite, args.root)
    print(path)
    return 0 if path.exists() else 1

"""`python -m bench switch`: parse the sweep's options, run it, print its table and results path.

The options are checked without torch (bench.execute.spec.check_command), so `--help` and bad input answer at
once; the sweep (bench/switching/sweep.py, with torch) is loaded only when it starts."""

from __future__ import annotations

import importlib
from pathlib import Path

from bench.cli import COMMANDS
from bench.cli.options import (
    FLEET_FLAGS,
    MODEL_FLAGS,
    add_device,
    add_model,
    add_output,
    add_set,
    add_shape_flags,
    from_flags,
    not_ok_lines,
    results_file,
)
from bench.errors import BenchError
from bench.execute.spec import check_command
from bench.options import QUICK, STRATEGIES, SweepConfig, validate_switch

# each flag is an alias of a `--set` key
FLAGS = {
    **MODEL_FLAGS,
    "tasks_n": "tasks_n",
    "batch_sizes": "batch_sizes",
    "strategies": "strategies",
    "popularity": "popularities",
    "order": "orders",
    "lengths": "lengths",
    "requests": "requests",
    "repeats": "repeats",
    **FLEET_FLAGS,
}


def add_parser(sub) -> None:
    p = sub.add_parser("switch", help=COMMANDS["switch"][1])
    p.add_argument("--quick", action="store_true", help="the small sweep the default run includes")
    add_model(p, "minilm")
    add_shape_flags(p)
    p.add_argument("--tasks-n", help="numbers of distinct tasks, e.g. 1,2,4,8,16,32,64")
    p.add_argument("--batch-sizes", help="e.g. 1,8,32")
    p.add_argument("--strategies", help=f"subset of: {', '.join(STRATEGIES)}")
    p.add_argument("--popularity", help="uniform,zipf")
    p.add_argument("--order", help="grouped,shuffled")
    p.add_argument("--lengths", help="short,long")
    p.add_argument("--requests", help="requests per stream")
    p.add_argument("--repeats", help="interleaved repeats per workload")
    add_device(p)
    p.add_argument(
        "--adapters-from",
        help="results .jsonl of earlier runs: their kept LoRA adapters and "
        "soft prompts (same model, rank, virtual tokens) fill the first slots",
    )
    add_set(p, "model.layers=2, requests=32, rank=16, virtual_tokens=10")
    add_output(p, "switch")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_switch)


def config_from_args(args) -> SweepConfig:
    cfg = from_flags(QUICK if args.quick else SweepConfig(), args, FLAGS)
    if cfg.adapters_from and not Path(cfg.adapters_from).is_file():
        raise BenchError(f"--adapters-from {cfg.adapters_from}: no such results file")
    return check_command(cfg, validate_switch)


def cmd_switch(args) -> int:
    cfg = config_from_args(args)
    output = results_file(cfg, args, "switch", ("run", "switch"))
    sweep = importlib.import_module("bench.switching.sweep")  # torch: only for a sweep that starts
    rows = sweep.run_sweep(cfg, output, show_progress=not args.no_progress)
    print()
    print(importlib.import_module("bench.render.terminal").switch_table(rows))
    print("\n".join(not_ok_lines(rows, "rows")))
    print(f"results: {output}")
    return 0

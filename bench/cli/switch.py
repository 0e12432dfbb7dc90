"""`python -m bench switch`: parse the sweep's options, run it, print its table and results path."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from pathlib import Path

from bench.catalog import models
from bench.cli import COMMANDS
from bench.errors import BenchError
from bench.execute.device import resolve_device
from bench.render.terminal import switch_table
from bench.rows.store import check_appendable
from bench.switching import STRATEGIES
from bench.switching.sweep import QUICK, SweepConfig, run_sweep, validate


def _ints(text: str, flag: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise BenchError(f"{flag}: expected comma-separated integers, got {text!r}") from None


def _names(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def add_parser(sub) -> None:
    p = sub.add_parser("switch", help=COMMANDS["switch"][1])
    p.add_argument("--quick", action="store_true", help="the small sweep the default run includes")
    p.add_argument("--model", help="default: minilm")
    p.add_argument("--tasks-n", help="numbers of distinct tasks, e.g. 1,2,4,8,16,32,64")
    p.add_argument("--batch-sizes", help="e.g. 1,8,32")
    p.add_argument("--strategies", help=f"subset of: {', '.join(STRATEGIES)}")
    p.add_argument("--popularity", help="uniform,zipf")
    p.add_argument("--order", help="grouped,shuffled")
    p.add_argument("--lengths", help="short,long")
    p.add_argument("--requests", type=int, help="requests per stream")
    p.add_argument("--repeats", type=int, help="interleaved repeats per workload")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="default: auto (cuda when available)")
    p.add_argument("--layers", type=int, help="shape-only models (shape:<name>): keep the first N layers")
    p.add_argument("--dtype", choices=["fp32", "bf16", "fp16"], help="shape-only models: weights' dtype")
    p.add_argument(
        "--adapters-from",
        type=Path,
        help="results .jsonl of earlier runs: their kept LoRA adapters and "
        "soft prompts (same model, rank, virtual tokens) fill the first slots",
    )
    p.add_argument("--output", type=Path, help="JSONL to append rows to (default: results/runs/<time>-switch.jsonl)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_switch)


def config_from_args(args):
    cfg = QUICK if args.quick else SweepConfig()
    changes = {}
    if args.model:
        changes["model"] = args.model
    if args.tasks_n:
        changes["tasks_n"] = _ints(args.tasks_n, "--tasks-n")
    if args.batch_sizes:
        changes["batch_sizes"] = _ints(args.batch_sizes, "--batch-sizes")
    for flag, key in (
        ("strategies", "strategies"),
        ("popularity", "popularities"),
        ("order", "orders"),
        ("lengths", "lengths"),
    ):
        if getattr(args, flag):
            changes[key] = _names(getattr(args, flag))
    if args.adapters_from:
        if not args.adapters_from.is_file():
            raise BenchError(f"--adapters-from {args.adapters_from}: no such results file")
        changes["adapters_from"] = str(args.adapters_from)
    for key in ("requests", "repeats", "device", "layers", "dtype"):
        if getattr(args, key) is not None:
            changes[key] = getattr(args, key)
    cfg = dataclasses.replace(cfg, **changes)
    validate(cfg)
    models.resolve(cfg.model)
    return cfg


def cmd_switch(args) -> int:
    cfg = config_from_args(args)
    resolve_device(cfg.device)
    output = args.output or Path("results") / "runs" / f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-switch.jsonl"
    check_appendable(output, ("run", "switch"))
    rows = run_sweep(cfg, output, show_progress=not args.no_progress)
    print()
    print(switch_table(rows))
    failed = [r for r in rows if r["status"] == "failed"]
    print(
        f"{len(rows)} rows, {len(failed)} failed a gate"
        + (f": {sorted({r['strategy'] for r in failed})}" if failed else "")
    )
    print(f"results: {output}")
    return 0

"""`python -m bench run`: check the suite the options describe, then run it and its switching sweep.

The check (bench.execute.suite.plan: every task, method, model and setting; for local runs the device too) imports
no torch, so bad input answers in one line at once; only then is bench/cli/runner.py loaded, with torch and all
that measuring needs.
"""

from __future__ import annotations

import importlib
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from bench.cli import COMMANDS
from bench.cli.options import add_device, add_set
from bench.config import apply_overrides, load_suite
from bench.errors import BenchError
from bench.execute.device import resolve_device
from bench.execute.suite import check_device_name, plan
from bench.paths import confined


def add_parser(sub) -> None:
    r = sub.add_parser("run", help=COMMANDS["run"][1])
    r.add_argument(
        "--suite", default="quick", help="suite name in tasks/suites/ or a path to a suite .yaml (default: quick)"
    )
    r.add_argument("--tasks", help="comma-separated task names or task .yaml paths (replaces the suite's)")
    r.add_argument("--methods", help="comma-separated method names or adapter_config.json paths")
    r.add_argument(
        "--model",
        help="minilm, smollm2-135m, a local model folder, a Hugging Face id, or shape:NAME (random weights, speed "
        "only; --set model.layers=N, model.dtype=bf16)",
    )
    r.add_argument("--seeds", help="comma-separated seeds, e.g. 0,1,2")
    add_device(r)
    add_set(r, "budget.batch_size=16, params.lora.r=16, switch.requests=32, serve.tasks_n=16")
    r.add_argument("--limit", type=int, metavar="N", help="quick look: at most N train and N test examples")
    r.add_argument("--max-steps", type=int, metavar="N", help="stop training after N steps")
    r.add_argument(
        "--output", type=Path, help="JSONL file to append rows to (default: results/runs/<time>-<suite>.jsonl)"
    )
    r.add_argument("--tasks-dir", action="append", type=Path, default=[], help="extra folder of task .yaml files")
    r.add_argument("--no-isolate", action="store_true", help="run in this process (faster start, shared peak memory)")
    r.add_argument(
        "--no-adapters",
        action="store_true",
        help="do not keep the trained PEFT adapters beside the rows "
        "(<results>.adapters/; sized, then dropped; the switching sweep then serves fresh ones)",
    )
    r.add_argument("--no-progress", action="store_true", help="no progress bars")
    r.add_argument(
        "--deterministic",
        action="store_true",
        help="deterministic torch algorithms (and CUBLAS_WORKSPACE_CONFIG): repeatable GPU runs, slower; recorded",
    )
    r.add_argument(
        "--resume",
        action="store_true",
        help="with --output FILE: skip runs that already have an ok row in FILE (same config hash), run the rest",
    )
    r.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="per run, process start included: a run past it is killed and recorded as `timeout`",
    )
    r.add_argument(
        "--executor",
        choices=["local", "ray"],
        default="local",
        help="local: one run after another, each in a child process; ray: one Ray task per run",
    )
    r.add_argument(
        "--ray-address",
        default="",
        metavar="ADDRESS",
        help="the Ray cluster (e.g. auto, or ray://head:10001); default: a local Ray started for this call",
    )
    r.set_defaults(func=cmd_run)


def suite_from_args(args):
    """The suite the run's options describe: the suite file, then the options as `--set` overrides."""
    cfg = load_suite(args.suite)
    if args.methods is not None:  # the suite file's per-method settings for methods left out do not apply
        keep = {m.strip() for m in args.methods.split(",")}
        cfg = replace(
            cfg,
            **{
                k: {m: v for m, v in getattr(cfg, k).items() if m in keep}
                for k in ("params", "lr_sweep", "sweep", "variants")
            },
        )
    sets = list(args.sets)
    for key, value in (
        ("tasks", args.tasks),
        ("methods", args.methods),
        ("model", args.model),
        ("seeds", args.seeds),
        ("device", args.device),
    ):
        if value is not None:
            sets.insert(0, f"{key}={value}")
    if args.limit is not None:
        if args.limit < 1:
            raise BenchError("--limit must be at least 1")
        sets[:0] = [
            f"budget.train_examples={args.limit}",
            f"budget.eval_examples={args.limit}",
            f"measure.validation_examples={args.limit}",
        ]
    if args.max_steps is not None:
        if args.max_steps < 1:
            raise BenchError("--max-steps must be at least 1")
        sets.insert(0, f"budget.max_steps={args.max_steps}")
    if args.timeout is not None:
        if not args.timeout > 0:
            raise BenchError("--timeout must be more than 0 seconds")
        sets.insert(0, f"timeout_s={args.timeout}")
    cfg = apply_overrides(cfg, sets)
    if args.no_isolate:
        cfg = apply_overrides(cfg, ["isolate=false"])
    if args.no_adapters:
        cfg = apply_overrides(cfg, ["keep_adapters=false"])
    if args.deterministic:
        cfg = apply_overrides(cfg, ["deterministic=true"])
    return cfg


def cmd_run(args) -> int:
    if args.resume and args.output is None:
        raise BenchError("--resume needs --output FILE: the results file whose finished runs are skipped")
    cfg = suite_from_args(args)
    plan(cfg, args.tasks_dir, show_progress=False, device_for=check_device_name)  # bad input: refused before torch
    if args.executor == "local":  # a device this machine lacks, too (Ray's runs resolve it where they execute)
        resolve_device(cfg.device)
    output = args.output
    if output is None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        output = confined(Path("results") / "runs", f"{stamp}-{cfg.name}.jsonl", f"suite name {cfg.name!r}")
    runner = importlib.import_module("bench.cli.runner")  # torch, the executors, the sweep, the report
    return runner.run(args, cfg, output)

"""Command line: parse, then call typed functions. Bad input -> one line on stderr, exit code 2."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from bench.analysis import compare
from bench.analysis.health import warnings_text
from bench.catalog import methods, models, tasks
from bench.catalog.assets import cache_dir
from bench.cli import assets as assets_cli
from bench.cli import serve as serve_cli
from bench.cli import switch as switch_cli
from bench.config import apply_overrides, list_suites, load_suite, read_yaml
from bench.errors import BenchError
from bench.execute.device import resolve_device
from bench.execute.suite import run_suite
from bench.measure import environment
from bench.render import html
from bench.render.html import report_after_run
from bench.render.terminal import paired_table, summary_table, sweep_table
from bench.rows import baselines
from bench.rows.store import read_rows
from bench.switching.sweep import QUICK, run_sweep
from bench.switching.table import switch_table


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m bench", description="LoRA vs prompt tuning, measured.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    r = sub.add_parser("run", help="run a suite and print its summary and results path")
    r.add_argument(
        "--suite", default="quick", help="suite name in tasks/suites/ or a path to a suite .yaml (default: quick)"
    )
    r.add_argument("--tasks", help="comma-separated task names or task .yaml paths (replaces the suite's)")
    r.add_argument("--methods", help="comma-separated method names or adapter_config.json paths")
    r.add_argument("--model", help="minilm, smollm2-135m, a local model folder, or a Hugging Face id")
    r.add_argument("--seeds", help="comma-separated seeds, e.g. 0,1,2")
    r.add_argument("--device", choices=["auto", "cpu", "cuda"], help="default: auto (cuda when available)")
    r.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, dotted (budget.batch_size=16, params.lora.r=16); repeatable",
    )
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

    ls = sub.add_parser("list", help="list tasks, methods, models and suites")
    ls.add_argument("--tasks-dir", action="append", type=Path, default=[])
    sub.add_parser("env", help="print the environment that rows record")

    for module in (switch_cli, html, compare, baselines):
        module.add_parsers(sub)  # each sets func=its command function
    serve_cli.add_parser(sub)
    assets_cli.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return cmd_run(args)
        if args.command == "list":
            return cmd_list(args)
        if args.command == "env":
            return cmd_env()
        return args.func(args)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: rows already written are kept; --resume --output FILE runs the rest", file=sys.stderr)
        return 130
    return 0


def suite_from_args(args):

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
    return cfg


def cmd_run(args) -> int:

    if args.resume and args.output is None:
        raise BenchError("--resume needs --output FILE: the results file whose finished runs are skipped")
    cfg = suite_from_args(args)
    output = args.output
    if output is None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        output = Path("results") / "runs" / f"{stamp}-{cfg.name}.jsonl"
    if output.exists() and output.is_dir():
        raise BenchError(f"--output {output} is a folder; give a .jsonl file")
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
    print(summary_table(rows))
    failed = sum(r["status"] != "ok" for r in rows)
    print(f"\n{len(rows)} runs, {len(rows) - failed} ok, {failed} not ok")
    for extra in (sweep_table(rows), paired_table(rows), warnings_text(rows)):
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
    import dataclasses

    sweep = dataclasses.replace(QUICK, model=cfg.model, device=cfg.device, adapters_from=str(output))
    print(
        f"suite {cfg.name}: quick switching sweep on {cfg.model} (about a minute on MiniLM, far longer on a "
        "larger model); --set switch= skips it",
        flush=True,
    )
    try:
        return run_sweep(sweep, output, show_progress=show_progress)
    except Exception as e:  # noqa: BLE001 - the runs are recorded; a failed sweep must not hide them
        print(f"warning: switching sweep failed: {type(e).__name__}: {e}", file=sys.stderr)
        return []


def cmd_list(args) -> int:

    print("tasks:")
    for name, path in tasks.task_files(args.tasks_dir).items():
        try:
            t = tasks.load_task(str(path))
            size = f"{t.size} examples" if t.size else "size checked on load"
            what = (
                f"generation, {t.metric}, up to {t.max_new_tokens} new tokens"
                if t.is_generation
                else f"{len(t.labels)} labels ({', '.join(t.labels)})"
            )
            print(
                f"  {name:18} v{t.version}  {what}; {size}; "
                f"source {t.source.get('asset') or t.source.get('path') or t.source.get('hf')}"
            )
        except BenchError as e:
            print(f"  {name:18} INVALID: {e}")
    print("methods:")
    for name, m in methods.METHODS.items():
        defaults = methods.params_dict(m.params_cls())
        print(f"  {name:18} {', '.join(f'{k}={v}' for k, v in defaults.items())}")
    print("  (or a path to a PEFT adapter_config.json)")
    print("models:")
    for name, spec in models.MODELS.items():
        print(f"  {name:18} {spec.kind:8} {spec.description}")
    print("  (or a local model folder, or a Hugging Face id with a network)")
    print("suites:")
    for name, path in list_suites().items():
        data = read_yaml(path)
        print(f"  {name:18} {data.get('description', '')}")
    return 0


def cmd_env() -> int:
    import torch

    device = torch.device(resolve_device("auto"))
    info = {
        **environment.git_state(),
        "machine_id": environment.machine_id(),
        **environment.environment(device),
        "cache_dir": str(cache_dir()),
    }
    print(json.dumps(info, indent=2))
    return 0

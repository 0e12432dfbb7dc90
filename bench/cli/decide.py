"""`python -m bench decide RUNS.jsonl... --tasks-n N --rate R`: the deployment decision from run and serve rows.
Exit 0 with a recommendation, 1 when no pair meets the constraints, 2 on bad input."""

from __future__ import annotations

from pathlib import Path

from bench.cli import COMMANDS
from bench.config import coerce
from bench.errors import BenchError
from bench.render.deploy import render
from bench.rows.schema import kind_of
from bench.rows.store import read_rows
from bench.serving.deploy import Constraints, decide, parse_bytes


def add_parser(sub) -> None:
    p = sub.add_parser("decide", help=COMMANDS["decide"][1])
    p.add_argument("files", nargs="+", type=Path, help="results .jsonl with run rows and serve rows of one model")
    p.add_argument("--tasks-n", required=True, help="number of tasks to serve (a served N)")
    p.add_argument("--rate", required=True, help="requests per second, all tasks together")
    p.add_argument("--slo-ms", help="p99 latency target in ms (default: the serve rows' own)")
    p.add_argument("--memory", help="resident memory limit, e.g. 2GB, 512MiB, 2000000000")
    p.add_argument("--min-accuracy", help="accuracy floor, e.g. 0.8")
    p.add_argument("--task", help="the task whose runs count (when the files hold several)")
    p.set_defaults(func=cmd_decide)


def _positive(text: str, kind, flag: str):
    value = coerce(text, kind, flag)
    if not 0 < value < float("inf"):
        raise BenchError(f"{flag} must be more than 0 and finite, got {text}")
    return value


def constraints_from_args(args) -> Constraints:
    acc = None if args.min_accuracy is None else coerce(args.min_accuracy, float, "--min-accuracy")
    if acc is not None and not 0 <= acc <= 1:
        raise BenchError(f"--min-accuracy must be between 0 and 1, got {args.min_accuracy}")
    return Constraints(
        tasks_n=_positive(args.tasks_n, int, "--tasks-n"),
        rate=_positive(args.rate, float, "--rate"),
        slo_ms=None if args.slo_ms is None else _positive(args.slo_ms, float, "--slo-ms"),
        memory=None if args.memory is None else parse_bytes(args.memory),
        min_accuracy=acc,
    )


def cmd_decide(args) -> int:
    c = constraints_from_args(args)
    rows = []
    for f in args.files:
        if not f.is_file():
            raise BenchError(f"{f}: no such results file")
        rows += read_rows(f)
    runs_file = next((str(f) for f in args.files if any(kind_of(r) == "run" for r in read_rows(f))), "RUNS.jsonl")
    d = decide(rows, c, runs_file, args.task)
    print(render(d, c))
    return d.exit_code

"""`python -m bench report`: write the self-contained HTML report of result rows."""

from __future__ import annotations

from pathlib import Path

from bench.analysis.aggregate import run_rows
from bench.analysis.machine import state_warnings
from bench.analysis.paired import DEFAULT_PAIR
from bench.cli import COMMANDS
from bench.errors import BenchError
from bench.render.html import write_report
from bench.rows.baselines import newest_results
from bench.rows.outputs import check_output
from bench.rows.sources import combine
from bench.rows.store import read_rows


def add_parser(sub) -> None:
    p = sub.add_parser("report", help=COMMANDS["report"][1])
    p.add_argument(
        "results",
        type=Path,
        nargs="*",
        help="rows (.jsonl; default: the newest in results/runs/); with several, all their rows are reported "
        "together (a run id once) and the files with run rows form the history",
    )
    p.add_argument("-o", "--output", type=Path, default=Path("report/index.html"), help="default: report/index.html")
    p.add_argument("--force", action="store_true", help="write over an existing file that is not a report")
    p.add_argument(
        "--pair",
        default=None,
        metavar="A,B",
        help="the two methods compared seed by seed and example by example (default: lora,prompt_tuning)",
    )
    p.set_defaults(func=cmd_report)


def parse_pair(text: str) -> tuple[str, str]:
    parts = [x.strip() for x in text.split(",")]
    if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
        raise BenchError(f"--pair {text!r}: give two different method names, e.g. --pair lora,prompt_tuning")
    return parts[0], parts[1]


def check_pair(pair: tuple[str, str], rows: list[dict]) -> None:
    """A pair named on the command line must name methods the rows ran (the default pair may be absent)."""
    ran = sorted({r["method"] for r in run_rows(rows) if r.get("method")})
    absent = [m for m in pair if m not in ran]
    if absent:
        raise BenchError(
            f"--pair {','.join(pair)}: no run of {' or '.join(absent)} in the rows; methods run: {', '.join(ran) or 'none'}"
        )


def cmd_report(args) -> int:
    pair = parse_pair(args.pair) if args.pair is not None else DEFAULT_PAIR
    check_output(args.output, "html", args.force)
    files = args.results or [newest_results()]
    sets = [read_rows(f, skip_bad=True) for f in files]
    for f, rows in zip(files, sets):
        if not rows:
            raise BenchError(f"{f} has no result rows")
    rows = combine([(str(f), r) for f, r in zip(files, sets)])
    if args.pair is not None:
        check_pair(pair, rows)
    history = [r for r in sets if run_rows(r)]  # serve and switch rows have no history panel
    path = write_report(rows, args.output, history if len(history) > 1 else None, pair)
    for w in state_warnings(rows):
        print(f"warning: {w}")
    print(f"report: {path}")
    return 0

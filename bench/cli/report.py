"""`python -m bench report`: write the self-contained HTML report of result rows."""

from __future__ import annotations

from pathlib import Path

from bench.analysis.paired import DEFAULT_PAIR
from bench.cli import COMMANDS
from bench.errors import BenchError
from bench.render.html import write_report
from bench.rows.baselines import newest_results
from bench.rows.outputs import check_output
from bench.rows.store import read_rows


def add_parser(sub) -> None:
    p = sub.add_parser("report", help=COMMANDS["report"][1])
    p.add_argument(
        "results",
        type=Path,
        nargs="*",
        help="rows (.jsonl; default: the newest in results/runs/); with several, the last is reported "
        "and all of them form the history",
    )
    p.add_argument("-o", "--output", type=Path, default=Path("report/index.html"), help="default: report/index.html")
    p.add_argument("--force", action="store_true", help="write over an existing file that is not a report")
    p.add_argument(
        "--pair",
        default=",".join(DEFAULT_PAIR),
        metavar="A,B",
        help="the two methods compared seed by seed and example by example (default: lora,prompt_tuning)",
    )
    p.set_defaults(func=cmd_report)


def parse_pair(text: str) -> tuple[str, str]:
    parts = [x.strip() for x in text.split(",")]
    if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
        raise BenchError(f"--pair {text!r}: give two different method names, e.g. --pair lora,prompt_tuning")
    return parts[0], parts[1]


def cmd_report(args) -> int:
    pair = parse_pair(args.pair)
    check_output(args.output, "html", args.force)
    files = args.results or [newest_results()]
    sets = [read_rows(f, skip_bad=True) for f in files]
    for f, rows in zip(files, sets):
        if not rows:
            raise BenchError(f"{f} has no result rows")
    path = write_report(sets[-1], args.output, sets if len(sets) > 1 else None, pair)
    print(f"report: {path}")
    return 0

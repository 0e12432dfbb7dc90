"""`python -m bench compare`: a baseline's rows against a current run's; markdown verdicts, exit 1 on a regression."""

from __future__ import annotations

import sys
from pathlib import Path

from bench.analysis.compare import (
    ALPHA,
    NOISE,
    advisory_categories,
    compare,
    compared_any,
    counts,
    differing_key,
    exit_code,
    to_json,
)
from bench.analysis.machine import state_warnings
from bench.cli import COMMANDS
from bench.render.verdicts import to_markdown
from bench.rows.store import read_rows


def add_verdict_options(p) -> None:
    """--factor, --alpha and --advisory: how compare's verdicts judge timings and accuracy, and which categories
    may fail (compare and history check)."""
    p.add_argument(
        "--factor", type=float, help="slowdown factor a timing must exceed (default 1.25 on CPU, 1.10 on GPU)"
    )
    p.add_argument(
        "--alpha",
        type=float,
        default=ALPHA,
        help=f"the gate's level: p below it flags a timing (U test) or an accuracy (McNemar) (default {ALPHA})",
    )
    p.add_argument(
        "--advisory",
        default="",
        metavar="CATEGORIES",
        help="comma-separated categories reported but not failing: timing, memory (e.g. timing,memory)",
    )


def add_parser(sub) -> None:
    p = sub.add_parser("compare", help=COMMANDS["compare"][1])
    p.add_argument("baseline", type=Path, help="baseline rows (.jsonl)")
    p.add_argument("current", type=Path, help="current rows (.jsonl)")
    add_verdict_options(p)
    p.add_argument(
        "--fail-missing", action="store_true", help="exit 1 when a baseline run has no current row (a run lost)"
    )
    p.add_argument("--only-changed", action="store_true", help="leave out the rows within noise (~)")
    p.add_argument(
        "--format",
        choices=["markdown", "json"],
        default="markdown",
        help="markdown: a table to paste in a pull request; json: a document for bots",
    )
    p.set_defaults(func=cmd_compare)


def cmd_compare(args) -> int:
    advisory = advisory_categories(args.advisory)
    baseline, current = read_rows(args.baseline), read_rows(args.current)
    verdicts = compare(baseline, current, args.factor, args.alpha)
    comparable = compared_any(verdicts)
    code = exit_code(verdicts, advisory, args.fail_missing) if comparable else 1  # a check that compared nothing fails
    shown = [v for v in verdicts if v.mark != NOISE] if args.only_changed else verdicts
    if args.format == "json":
        print(to_json(shown, advisory, counts(verdicts), code))
    elif args.only_changed and comparable and not shown:  # one line, not an empty table
        print(f"nothing changed: all {len(verdicts)} verdicts are within noise (~); drop --only-changed to list them")
    else:
        print(to_markdown(shown, advisory, counts(verdicts)))
    for w in state_warnings(baseline + current):  # the machine each side was measured on (not a verdict)
        print(f"warning: {w}", file=sys.stderr if args.format == "json" else sys.stdout)
    if not comparable:
        print(differing_key(baseline, current))
    return code

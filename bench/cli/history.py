"""`python -m bench history add|report|check`: result rows across commits.

add     files rows in the store under their machine class and suite (idempotent by run id)
report  writes one HTML file: each metric against commit order, detected steps marked
check   exit 1 when the newest commit starts a step in the worse direction beyond noise, else 0
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.analysis import compare
from bench.analysis.machine import state_warnings
from bench.cli import COMMANDS
from bench.cli.compare import add_verdict_options
from bench.errors import BenchError
from bench.history import detect, report, store
from bench.rows.outputs import check_output
from bench.rows.store import read_rows

METHOD_NOTE = (
    f"steps by PELT (ruptures, L1 cost, penalty {detect.PENALTY} x noise x ln n, at least {detect.MIN_SIZE} "
    f"commits a segment, steps under {detect.STEP_FLOOR:.0%} merged)."
)


def add_parser(sub) -> None:
    h = sub.add_parser("history", help=COMMANDS["history"][1])
    hs = h.add_subparsers(dest="history_command", required=True, parser_class=type(h))

    a = hs.add_parser("add", help="file result rows in the store (rows already there are skipped)")
    a.add_argument("rows", nargs="+", type=Path, help="result rows (.jsonl)")
    a.add_argument("--store", type=Path, required=True, help="the history folder")
    a.set_defaults(func=cmd_add)

    for name, text in (
        ("report", "write the history report (HTML)"),
        ("check", "exit 1 when the newest commit starts a step in the worse direction, else 0"),
    ):
        p = hs.add_parser(name, help=text)
        p.add_argument("--store", type=Path, required=True, help="the history folder")
        p.add_argument("--machine-class", help="only this machine class (default: every one in the store)")
        p.add_argument("--suite", help="only this suite (default: every one in the store)")
        p.add_argument(
            "--penalty", type=float, default=detect.PENALTY, help=f"change-point penalty (default {detect.PENALTY})"
        )
        if name == "report":
            p.add_argument("-o", "--output", type=Path, required=True, help="HTML file to write")
            p.add_argument("--force", action="store_true", help="write over an existing file that is not a report")
            p.set_defaults(func=cmd_report)
        else:
            p.add_argument("--commit", help="the commit to check (sha prefix; default: that of the newest row)")
            add_verdict_options(p)
            p.add_argument(
                "--format",
                choices=["text", "json"],
                default="text",
                help="text: one line per finding; json: every finding's verdict, its test and what it could flag",
            )
            p.set_defaults(func=cmd_check)


def cmd_add(args) -> int:
    rows = [r for path in args.rows for r in read_rows(path, skip_bad=True)]
    unknown = sum(not store.has_sha(r) for r in rows)
    if unknown:  # filed under one made-up commit, every such run would pool into one point of history
        raise BenchError(
            f"{unknown} of {len(rows)} rows have no git sha (recorded as unknown: the bench ran outside a git "
            "checkout), and history files rows by commit; nothing added. Record one by running the bench from a "
            "git checkout of it, or from inside the git work tree of the code being measured"
        )
    got = store.add(args.store, rows)
    skipped = "; ".join(f"{n} skipped: {why}" for why, n in got.skipped.items())
    print(
        f"history {args.store}: {got.added} rows added, {got.known} already there" + (f"; {skipped}" if skipped else "")
    )
    if rows and not got.added and not got.known:
        raise BenchError(f"no row could be filed ({skipped})")
    return 0


def _check_penalty(args) -> None:
    if not args.penalty > 0:
        raise BenchError(f"--penalty must be more than 0, got {args.penalty}")


def cmd_report(args) -> int:
    _check_penalty(args)
    check_output(args.output, "html", args.force)
    sections = []
    for (mc, suite), rows in store.groups(args.store, args.machine_class, args.suite).items():
        series = detect.build_series(rows, mc, suite)
        keys = [c.key for c in store.commits(rows)]
        sections.append(report.group_section(mc, suite, series, keys, args.penalty))
    try:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report.render(sections, METHOD_NOTE), encoding="utf-8")
    except OSError as e:
        raise BenchError(f"cannot write history report {args.output}: {e.strerror}") from None
    print(f"history report: {args.output}")
    return 0


def cmd_check(args) -> int:
    _check_penalty(args)
    advisory = compare.advisory_categories(args.advisory)
    compare.check_levels(args.factor, args.alpha)
    failing, docs = 0, []
    for (mc, suite), rows in store.groups(args.store, args.machine_class, args.suite).items():
        added = store.added_order(args.store / mc / suite)
        head = store.find_commit(rows, args.commit) if args.commit else store.newest_commit(rows, added)
        factor = args.factor or compare.default_factor(rows)
        findings = detect.check(detect.build_series(rows, mc, suite), head, factor, args.penalty, args.alpha)
        n_commits = len(store.commits(rows))
        if args.format == "json":
            docs.append(detect.check_doc(mc, suite, head, n_commits, findings, advisory))
            failing += sum(f.regression and f.verdict.category not in advisory for f in findings)
            continue
        chosen = "as --commit asked" if args.commit else "the last added to the store; --commit picks another"
        print(f"{suite} on {mc}: commit {head[:12]} ({chosen}) against {n_commits - 1} other commits")
        if not findings:
            print("  no earlier commit measured these runs: nothing to check yet")
        for f in findings:
            if f.verdict.mark in (compare.WORSE, compare.FAILING, compare.BETTER, compare.FACTOR_ONLY):
                counts = f.regression and f.verdict.category not in advisory
                tag = "REGRESSION" if counts else "advisory" if f.regression else "improved"
                tag = "factor only" if f.verdict.mark == compare.FACTOR_ONLY else tag
                print(f"  {tag}: {f.text()}")
                failing += counts
        for w in state_warnings([r for r in rows if store.commit_key(r) == head]):  # the newest commit's rows
            print(f"  warning: {w}")
        steady = sum(f.verdict.mark == compare.NOISE for f in findings)
        here = sum(f.regression and f.verdict.category not in advisory for f in findings)
        alone = sum(f.verdict.factor_only for f in findings)
        print(
            f"  {steady} metrics within noise, {here} regressions, {alone} timings judged by factor alone (too few samples)"
        )
    if args.format == "json":
        print(
            json.dumps({"groups": docs, "regressions": failing, "exit_code": int(failing > 0)}, indent=2, default=str)
        )
    if failing:
        print(f"history check: {failing} regressions at the newest commit", file=sys.stderr)
    return int(failing > 0)

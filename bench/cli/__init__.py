"""Command line: parse, then call typed functions. Bad input -> one line on stderr, exit code 2.

One module per subcommand, each with `add_parser(sub)` (which sets `func`, its command function);
argparse lives only in this package.
"""

from __future__ import annotations

import argparse
import sys

from bench import __version__
from bench.cli import assets, baseline, compare, export, history, info, report, run, serve, switch
from bench.errors import BenchError

COMMANDS = (
    run,
    info,
    switch,
    serve,
    report,
    compare,
    baseline,
    history,
    export,
    assets,
)  # the order `--help` lists them in


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m bench", description="LoRA vs prompt tuning, measured.")
    p.add_argument(
        "--version", action="version", version=f"adapter-bench {__version__}", help="print the version and exit"
    )
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for module in COMMANDS:
        module.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: rows already written are kept; --resume --output FILE runs the rest", file=sys.stderr)
        return 130

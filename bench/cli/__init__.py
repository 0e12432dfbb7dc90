"""Command line: parse, then call typed functions. Bad input -> one line on stderr, exit code 2.

One module per subcommand, each with `add_parser(sub)` (which sets `func`, its command function);
argparse lives only in this package. Only the module of the command being run is imported, so `--help`,
`--version` and a mistyped command answer at once. No command module imports torch: `run` checks its suite first
(bench.execute.suite.plan) and loads bench/cli/runner.py, with torch, only for a suite it can run; `switch` and
`serve` check their options (bench.execute.spec.check_command) and load their sweep only when it starts. `--help`,
`list`, `env` and bad input never import torch (tests/cli/test_fast_commands.py).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from bench import __version__
from bench.errors import BenchError

# name -> (the bench.cli module that implements it, its line in --help), in the order --help lists them
COMMANDS = {
    "run": ("run", "run a suite and print its summary and results path"),
    "list": ("info", "list tasks, methods, models and suites, with whether each can be had here"),
    "env": ("info", "print the environment that rows record"),
    "switch": ("switch", "multi-task switching sweep: every strategy on the same model and workload"),
    "serve": ("serve", "serving under load: the highest request rate each strategy sustains at a latency SLO"),
    "decide": ("decide", "the deployment decision: each trained method with each serving strategy, under constraints"),
    "report": ("report", "write the self-contained HTML report of result rows"),
    "compare": ("compare", "compare a run with a baseline: markdown verdicts, exit 1 on a regression"),
    "baseline": ("baseline", "keep per-machine baselines under results/baselines/<machine_class>/"),
    "history": ("history", "result rows across commits: add to a store, report, check the newest"),
    "export": ("export", "result rows as one CSV or Parquet table (one line per run)"),
    "assets": ("assets", "pinned archives: check they can still be fetched, bundle a suite's into a folder"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser. `only`: build that command's parser alone (every other command is listed by
    name and help); None: every command's."""
    p = _Parser(prog="python -m bench", description="LoRA vs prompt tuning, measured.")
    p.add_argument(
        "--version", action="version", version=f"adapter-bench {__version__}", help="print the version and exit"
    )
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    modules = dict.fromkeys(m for name, (m, _) in COMMANDS.items() if only is None or name == only)
    for module in modules:
        importlib.import_module(f"bench.cli.{module}").add_parser(sub)
    for name, (_, text) in COMMANDS.items():
        if name not in sub.choices:
            sub.add_parser(name, help=text)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if not a.startswith("-")), "")
    args = build_parser(only=command).parse_args(argv)
    try:
        return args.func(args)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: rows already written are kept; --resume --output FILE runs the rest", file=sys.stderr)
        return 130

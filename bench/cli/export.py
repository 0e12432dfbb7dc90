"""`python -m bench export ROWS... --format csv|parquet`: result rows as one table (bench.rows.load_frame)."""

from __future__ import annotations

from pathlib import Path

from bench.cli import COMMANDS
from bench.errors import BenchError
from bench.rows.frame import load_frame, write_frame
from bench.rows.outputs import check_output


def add_parser(sub) -> None:
    p = sub.add_parser("export", help=COMMANDS["export"][1])
    p.add_argument("rows", nargs="+", type=Path, help="result rows (.jsonl)")
    p.add_argument("--format", choices=["csv", "parquet"], default="csv")
    p.add_argument("-o", "--output", type=Path, help="file to write (default: the first ROWS file, its suffix changed)")
    p.add_argument("--force", action="store_true", help="write over an existing file that is not an export")
    p.add_argument("--raw", action="store_true", help="keep raw samples, loss curves and per-example answers")
    p.set_defaults(func=cmd_export)


def cmd_export(args) -> int:
    out = args.output or args.rows[0].with_suffix("." + args.format)
    if out.resolve() in {p.resolve() for p in args.rows}:
        raise BenchError(f"--output {out} is one of the result files; give another path")
    check_output(out, args.format, args.force)
    frame = load_frame(args.rows, raw=args.raw, skip_bad=True)
    print(f"{len(frame)} rows, {len(frame.columns)} columns: {write_frame(frame, out, args.format)}")
    return 0

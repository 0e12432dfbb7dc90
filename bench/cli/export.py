"""`python -m bench export ROWS... [--format csv|parquet] [-o PATH] [--force]`: result rows as one table
(bench.rows.frame: one line per row, every nested field flattened into dotted columns)."""

from __future__ import annotations

from pathlib import Path

from bench.cli import COMMANDS
from bench.errors import BenchError
from bench.rows.frame import check_format, load_frame, write_frame
from bench.rows.outputs import check_output


def add_parser(sub) -> None:
    p = sub.add_parser("export", help=COMMANDS["export"][1])
    p.add_argument("rows", nargs="+", type=Path, help="result rows (.jsonl); several make one table")
    p.add_argument(
        "--format",
        choices=["csv", "parquet"],
        default="csv",
        help="csv (default), or parquet (needs pyarrow: pip install '.[parquet]')",
    )
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        help="file to write (default: <first ROWS file's name>.csv or .parquet in the current folder)",
    )
    p.add_argument("--force", action="store_true", help="write over an existing file (never over result rows)")
    p.add_argument("--raw", action="store_true", help="keep raw samples, loss curves and per-example answers")
    p.set_defaults(func=cmd_export)


def cmd_export(args) -> int:
    out = args.output or Path(args.rows[0].stem + "." + args.format)  # the current folder, not the rows' own
    if out.resolve() in {p.resolve() for p in args.rows}:
        raise BenchError(f"--output {out} is one of the result files; give another path")
    check_output(out, args.format, args.force)
    if out.exists() and not args.force:
        raise BenchError(f"--output {out} exists; give another path, or --force to write over it")
    check_format(args.format)  # pyarrow for parquet: before any row is read
    frame = load_frame(args.rows, raw=args.raw, skip_bad=True)
    print(f"{len(frame)} rows, {len(frame.columns)} columns: {write_frame(frame, out, args.format)}")
    return 0

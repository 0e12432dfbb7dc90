"""Per-machine baselines: results/baselines/<machine_class>/<suite>.jsonl.

Timings only compare on the kind of machine that made them, so a baseline belongs to one machine
class (processor or GPU model and core count, see envinfo.machine_class); saving one replaces the
previous baseline of that suite only with --force.
"""

from __future__ import annotations

import re
from pathlib import Path

from bench.config import PROJECT_ROOT
from bench.errors import BenchError
from bench.measure.environment import machine_class
from bench.rows.store import append_rows, read_rows

BASELINES = PROJECT_ROOT / "results" / "baselines"


SAFE_NAME = re.compile(r"[A-Za-z0-9._-]+")


def baseline_path(machine_class: str, suite: str, root: Path = BASELINES) -> Path:
    """root/<machine_class>/<suite>.jsonl; both names come from rows, so each must be a plain file name
    ([A-Za-z0-9._-]) and the path must stay under root."""
    for what, name in (("machine_class", machine_class), ("suite", suite)):
        if not SAFE_NAME.fullmatch(name) or set(name) == {"."}:
            raise BenchError(
                f"baseline {what} {name!r} is not a plain name: use letters, digits, '.', '_' and '-' only"
            )
    path = Path(root) / machine_class / f"{suite}.jsonl"
    if not path.resolve().is_relative_to(Path(root).resolve()):
        raise BenchError(f"baseline path {path} is outside {root}")
    return path


def one_value(rows: list[dict], field: str) -> str:
    values = {str(r.get(field)) for r in rows}
    if len(values) != 1:
        raise BenchError(f"a baseline holds rows of one {field}; these rows have {', '.join(sorted(values))}")
    return values.pop()


def save_baseline(rows: list[dict], root: Path = BASELINES, force: bool = False) -> Path:
    if not rows:
        raise BenchError("no rows to save as a baseline")
    path = baseline_path(one_value(rows, "machine_class"), one_value(rows, "suite"), root)
    if path.exists() and not force:
        raise BenchError(f"baseline {path} exists; pass --force to replace it")
    tmp = path.with_suffix(".jsonl.tmp")
    tmp.unlink(missing_ok=True)
    try:
        append_rows(tmp, rows)
        tmp.replace(path)
    except (BenchError, OSError) as e:
        tmp.unlink(missing_ok=True)  # no half-written baseline left behind
        raise BenchError(f"cannot save baseline {path}: {getattr(e, 'strerror', None) or e}") from None
    return path


def newest_results(folder: Path = PROJECT_ROOT / "results" / "runs") -> Path:
    files = sorted(Path(folder).glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    if not files:
        raise BenchError(f"no results in {folder}; give a results .jsonl file")
    return files[-1]


def add_parsers(sub) -> None:
    p = sub.add_parser("baseline", help="keep per-machine baselines under results/baselines/<machine_class>/")
    bsub = p.add_subparsers(dest="baseline_command", required=True, parser_class=type(p))
    s = bsub.add_parser("save", help="save a run's rows as this machine's baseline for its suite")
    s.add_argument("results", type=Path, nargs="?", help="rows (.jsonl; default: the newest in results/runs/)")
    s.add_argument("--root", type=Path, default=BASELINES, help="baselines folder (default: results/baselines)")
    s.add_argument("--force", action="store_true", help="replace an existing baseline")
    s.set_defaults(func=cmd_save)
    w = bsub.add_parser("path", help="print this machine's baseline path for a suite (exit 1 if there is none)")
    w.add_argument("--suite", default="smoke")
    w.add_argument("--root", type=Path, default=BASELINES)
    w.set_defaults(func=cmd_path)


def cmd_save(args) -> int:
    results = args.results or newest_results()
    rows = read_rows(results)
    path = save_baseline(rows, args.root, args.force)
    print(f"baseline: {path} ({len(rows)} rows)")
    return 0


def cmd_path(args) -> int:

    path = baseline_path(machine_class(), args.suite, args.root)
    print(path)
    return 0 if path.exists() else 1

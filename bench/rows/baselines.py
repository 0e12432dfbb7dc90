"""Per-machine baselines: results/baselines/<machine_class>/<suite>.jsonl.

Timings only compare on the kind of machine that made them, so a baseline belongs to one machine
class (processor or GPU model and core count, see envinfo.machine_class); saving one replaces the
previous baseline of that suite only with --force.
"""

from __future__ import annotations

import re
from pathlib import Path

from bench.errors import BenchError
from bench.paths import workspace_root
from bench.rows.store import append_rows


def baselines_root() -> Path:
    """results/baselines of the checkout the code runs from (for an installed package: of the current
    directory's git work tree, else of the current directory)."""
    return workspace_root() / "results" / "baselines"


SAFE_NAME = re.compile(r"[A-Za-z0-9._-]+")


def baseline_path(machine_class: str, suite: str, root: Path | None = None) -> Path:
    """root/<machine_class>/<suite>.jsonl; both names come from rows, so each must be a plain file name
    ([A-Za-z0-9._-]) and the path must stay under root."""
    for what, name in (("machine_class", machine_class), ("suite", suite)):
        if not SAFE_NAME.fullmatch(name) or set(name) == {"."}:
            raise BenchError(
                f"baseline {what} {name!r} is not a plain name: use letters, digits, '.', '_' and '-' only"
            )
    root = Path(root or baselines_root())
    path = root / machine_class / f"{suite}.jsonl"
    if not path.resolve().is_relative_to(root.resolve()):
        raise BenchError(f"baseline path {path} is outside {root}")
    return path


def one_value(rows: list[dict], field: str) -> str:
    values = {str(r.get(field)) for r in rows}
    if len(values) != 1:
        raise BenchError(f"a baseline holds rows of one {field}; these rows have {', '.join(sorted(values))}")
    return values.pop()


def save_baseline(rows: list[dict], root: Path | None = None, force: bool = False) -> Path:
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


def newest_results(folder: Path | None = None) -> Path:
    folder = folder or workspace_root() / "results" / "runs"
    files = sorted(Path(folder).glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    if not files:
        raise BenchError(f"no results in {folder}; give a results .jsonl file")
    return files[-1]

"""Per-machine baselines: results/baselines/<machine_class>/<suite>.jsonl.

Timings only compare on the kind of machine that made them, so a baseline belongs to one machine
class (processor or GPU model and core count, see envinfo.machine_class); saving one replaces the
previous baseline of that suite only with --force.
"""

from __future__ import annotations

from pathlib import Path

from bench.errors import BenchError
from bench.paths import workspace_root
from bench.rows.store import append_rows


def baselines_root() -> Path:
    """results/baselines of the checkout the code runs from (for an installed package: of the current
    directory's git work tree, else of the current directory)."""
    return workspace_root() / "results" / "baselines"


def baseline_path(machine_class: str, suite: str, root: Path | None = None) -> Path:
    return Path(root or baselines_root()) / machine_class / f"{suite}.jsonl"


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
    append_rows(tmp, rows)
    tmp.replace(path)
    return path


def newest_results(folder: Path | None = None) -> Path:
    folder = folder or workspace_root() / "results" / "runs"
    files = sorted(Path(folder).glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    if not files:
        raise BenchError(f"no results in {folder}; give a results .jsonl file")
    return files[-1]

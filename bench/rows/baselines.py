"""Per-machine baselines: results/baselines/<machine_class>/<suite>.jsonl.

Timings only compare on the kind of machine that made them, so a baseline belongs to one machine
class (processor or GPU model and core count, see envinfo.machine_class); saving one replaces the
previous baseline of that suite only with --force.
"""

from __future__ import annotations

from pathlib import Path

from bench.config import PROJECT_ROOT
from bench.errors import BenchError
from bench.rows.store import append_rows

BASELINES = PROJECT_ROOT / "results" / "baselines"


def baseline_path(machine_class: str, suite: str, root: Path = BASELINES) -> Path:
    return Path(root) / machine_class / f"{suite}.jsonl"


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
    append_rows(tmp, rows)
    tmp.replace(path)
    return path


def newest_results(folder: Path = PROJECT_ROOT / "results" / "runs") -> Path:
    files = sorted(Path(folder).glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    if not files:
        raise BenchError(f"no results in {folder}; give a results .jsonl file")
    return files[-1]

"""The history store: result rows filed under DIR/<machine_class>/<suite>/<git sha>.jsonl.

Adding is idempotent: a row whose run id is already in its folder is skipped, so a CI job can add the
same results file twice. Rows are never rewritten. A commit's position in the history is the time its
first row was written (reruns of an older commit pool with it, in its place). A row written from a tree
with uncommitted changes is filed under its sha but kept apart as commit `<sha>+dirty`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from bench.errors import BenchError
from bench.rows.store import append_rows, read_rows

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class Added:
    added: int = 0
    known: int = 0  # already in the store (same run id)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> rows left out
    files: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Commit:
    key: str  # git sha, or "<sha>+dirty"
    first_at: str  # created_at of its first row
    index: int  # position in commit order, from 0

    @property
    def short(self) -> str:
        return self.key[:8] + ("+dirty" if self.key.endswith("+dirty") else "")


def safe_name(text: str) -> str:
    return _SAFE.sub("_", str(text)).strip("._") or "_"


def row_id(row: dict) -> str:
    """The run id, or for a row without one a digest of its content."""
    if row.get("run_id"):
        return str(row["run_id"])
    return hashlib.sha256(json.dumps(row, sort_keys=True, default=str).encode()).hexdigest()[:16]


def commit_key(row: dict) -> str:
    return str(row["git_sha"]) + ("+dirty" if row.get("git_dirty") else "")


def _unusable(row: dict) -> str | None:
    if not row.get("git_sha"):
        return "no git sha (not run from a git checkout)"
    if not row.get("created_at"):
        return "no created_at"
    if not row.get("machine_class"):
        return "no machine class"
    if not row.get("suite"):
        return "no suite"
    return None


def add(store: Path, rows: list[dict]) -> Added:
    """File `rows` in the store; rows already there (by run id) and rows without a sha, time, machine
    class or suite are skipped and counted."""
    store = Path(store)
    if store.exists() and not store.is_dir():
        raise BenchError(f"--store {store} is a file; give a folder")
    out = Added()
    known: dict[Path, set[str]] = {}
    pending: dict[Path, list[dict]] = {}
    for row in rows:
        reason = _unusable(row)
        if reason:
            out.skipped[reason] = out.skipped.get(reason, 0) + 1
            continue
        folder = store / safe_name(row["machine_class"]) / safe_name(row["suite"])
        if folder not in known:
            known[folder] = {row_id(r) for r in load_folder(folder)}
        rid = row_id(row)
        if rid in known[folder]:
            out.known += 1
            continue
        known[folder].add(rid)
        pending.setdefault(folder / f"{safe_name(row['git_sha'])}.jsonl", []).append(row)
    for path, new in pending.items():
        append_rows(path, new)
        out.added += len(new)
        out.files.append(str(path))
    return out


def load_folder(folder: Path) -> list[dict]:
    rows = []
    for path in sorted(Path(folder).glob("*.jsonl")) if Path(folder).is_dir() else ():
        rows.extend(read_rows(path, skip_bad=True))
    return rows


def groups(store: Path, machine_class: str | None = None, suite: str | None = None) -> dict[tuple[str, str], list]:
    """(machine class, suite) -> that folder's rows, for the folders matching the filters."""
    store = Path(store)
    if not store.is_dir():
        raise BenchError(f"no history store at {store} (python -m bench history add ROWS --store {store} makes one)")
    out = {}
    for folder in sorted(p for p in store.glob("*/*") if p.is_dir()):
        mc, su = folder.parent.name, folder.name
        if machine_class not in (None, mc) or suite not in (None, su):
            continue
        rows = load_folder(folder)
        if rows:
            out[(mc, su)] = rows
    if not out:
        where = ", ".join(f"{k} {v}" for k, v in (("machine class", machine_class), ("suite", suite)) if v)
        have = sorted(f"{p.parent.name}/{p.name}" for p in store.glob("*/*") if p.is_dir())
        raise BenchError(
            f"no rows in history store {store}"
            + (f" for {where}" if where else "")
            + (f"; it holds: {', '.join(have)}" if have else "")
        )
    return out


def commits(rows: list[dict]) -> list[Commit]:
    """The commits of `rows` in history order: by the time of each commit's first row."""
    first: dict[str, str] = {}
    for r in rows:
        key = commit_key(r)
        if key not in first or str(r["created_at"]) < first[key]:
            first[key] = str(r["created_at"])
    ordered = sorted(first, key=lambda k: (first[k], k))
    return [Commit(k, first[k], i) for i, k in enumerate(ordered)]


def newest_commit(rows: list[dict]) -> str:
    """The commit of the most recently written row: what a CI job just ran."""
    return commit_key(max(rows, key=lambda r: str(r["created_at"])))


def find_commit(rows: list[dict], prefix: str) -> str:
    keys = [c.key for c in commits(rows)]
    hits = [k for k in keys if k.startswith(prefix)]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise BenchError(f"--commit {prefix}: no such commit in the history ({len(keys)} commits)")
    raise BenchError(f"--commit {prefix} is ambiguous: {', '.join(h[:12] for h in hits)}")

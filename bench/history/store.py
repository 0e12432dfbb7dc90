"""The history store: result rows filed under DIR/<machine_class>/<suite>/<git sha>.jsonl.

Adding is idempotent: a row whose run id is already in its folder is skipped, so a CI job can add the
same results file twice. Rows are never rewritten. One `add` at a time (a lock on the store, waited for); a
file whose last line was cut is repaired before rows are appended to it.

A commit's position in the history: its place in the git commit graph when the store sits in a git checkout
that knows every commit, else the order in which commits were first added (ADDED, a log in each folder;
stores without it: the time of each commit's first row). Reruns of an older commit pool with it, in its
place. The newest commit, the one `check` looks at, is the one last added: a row's own clock cannot make
itself the newest. A row written from a tree with uncommitted changes is filed under its sha but kept apart
as commit `<sha>+dirty`.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from bench.errors import BenchError
from bench.paths import git_root
from bench.rows.store import append_rows, drop_truncated_tail, locked, read_rows

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_SHA = re.compile(r"[0-9a-f]{7,64}")
ADDED = "commits.added"  # per folder: one commit key a line, in the order commits were first added


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


def has_sha(row: dict) -> bool:
    """The row records the commit of the code that ran (rows made outside a git checkout record "unknown")."""
    return bool(row.get("git_sha")) and row["git_sha"] != "unknown"


def _unusable(row: dict) -> str | None:
    if not has_sha(row):
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
    with locked(store / "add", wait=True):  # store/add.lock: one add at a time, each reads the store once it holds it
        return _add_locked(store, rows)


def _add_locked(store: Path, rows: list[dict]) -> Added:
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
        drop_truncated_tail(path)  # a cut last line: cut back to the last whole row before appending
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.parent / ADDED, "a", encoding="utf-8") as f:
            f.write("".join(k + "\n" for k in dict.fromkeys(commit_key(r) for r in new)))
        append_rows(path, new)
        out.added += len(new)
        out.files.append(str(path))
    return out


def added_order(folder: Path) -> list[str]:
    """The folder's commits in the order they were added, the last one added at the end (repeats kept)."""
    try:
        return [k for k in (Path(folder) / ADDED).read_text(encoding="utf-8").split("\n") if k.strip()]
    except (OSError, UnicodeDecodeError):
        return []


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
            rank = {k: i for i, k in enumerate(commit_order(folder, rows))}
            out[(mc, su)] = sorted(rows, key=lambda r: rank[commit_key(r)])  # commits() reads the order off
    if not out:
        where = ", ".join(f"{k} {v}" for k, v in (("machine class", machine_class), ("suite", suite)) if v)
        have = sorted(f"{p.parent.name}/{p.name}" for p in store.glob("*/*") if p.is_dir())
        raise BenchError(
            f"no rows in history store {store}"
            + (f" for {where}" if where else "")
            + (f"; it holds: {', '.join(have)}" if have else "")
        )
    return out


def commit_order(folder: Path, rows: list[dict]) -> list[str]:
    """The commit keys of a folder's rows in history order: the git commit graph's where the store sits in a
    git checkout that knows them all, else the order they were first added (commits added before the log was
    kept come first, by the time of their first row)."""
    first: dict[str, str] = {}
    for r in rows:
        key = commit_key(r)
        first[key] = min(first.get(key, str(r["created_at"])), str(r["created_at"]))
    graph = _graph_order(Path(folder), {k.removesuffix("+dirty") for k in first})
    if graph:
        return sorted(first, key=lambda k: (graph[k.removesuffix("+dirty")], k.endswith("+dirty")))
    added = {}
    for i, k in enumerate(added_order(folder)):
        added.setdefault(k, i)
    return sorted(first, key=lambda k: (1, added[k], "") if k in added else (0, 0, first[k] + k))


def _graph_order(folder: Path, shas: set[str]) -> dict[str, int] | None:
    """sha -> position in the commit graph (oldest first), or None: no checkout, or a commit it lacks."""
    if not shas or not all(_SHA.fullmatch(s) for s in shas):
        return None
    root = git_root(folder) if folder.is_dir() else None
    if root is None:
        return None
    try:
        out = subprocess.run(
            ["git", "rev-list", "--topo-order", "--reverse", *sorted(shas)],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    where = {sha: i for i, sha in enumerate(out.stdout.split())} if out.returncode == 0 else {}
    return where if shas <= set(where) else None


def commits(rows: list[dict]) -> list[Commit]:
    """The commits of `rows` in the order they first appear (groups() returns a folder's rows in history order)."""
    first: dict[str, str] = {}
    for r in rows:
        key = commit_key(r)
        first[key] = min(first.get(key, str(r["created_at"])), str(r["created_at"]))
    return [Commit(k, first[k], i) for i, k in enumerate(first)]


def newest_commit(rows: list[dict], added: list[str] | None = None) -> str:
    """The commit last added to the store (`added`: the folder's log, added_order): what a CI job just ran. A
    store without the log: the commit of the row with the latest time."""
    keys = {commit_key(r) for r in rows}
    logged = [k for k in added or () if k in keys]
    return logged[-1] if logged else commit_key(max(rows, key=lambda r: str(r["created_at"])))


def find_commit(rows: list[dict], prefix: str) -> str:
    keys = [c.key for c in commits(rows)]
    hits = [k for k in keys if k.startswith(prefix)]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise BenchError(f"--commit {prefix}: no such commit in the history ({len(keys)} commits)")
    raise BenchError(f"--commit {prefix} is ambiguous: {', '.join(h[:12] for h in hits)}")

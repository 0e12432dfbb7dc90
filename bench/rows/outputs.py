"""Before a report or an export is written: the path it takes can be written, and writing it loses nothing.

One check for every writer of HTML, CSV or Parquet (`report -o`, the report at the end of `run`, `history
report -o`, `export`): a path that holds result rows is refused always; any other existing file is refused
unless it is one this kind of writer wrote before (an HTML report, an exported table) or `--force` is given.
The check runs before any work, so a refused command has done nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from bench.errors import BenchError

# what the start of a file this writer wrote looks like (a rewrite of it loses nothing the writer cannot redo)
_OWN = {
    "html": lambda head: head.lstrip().lower().startswith(b"<!doctype html>"),
    "csv": lambda head: b"schema_version" in head.split(b"\n", 1)[0].split(b","),
    "parquet": lambda head: head.startswith(b"PAR1"),
}


def holds_rows(path: Path) -> bool:
    """The file's first non-blank line is a result row (a JSON object with a schema version)."""
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 20)
    except OSError:
        return False
    for line in head.split(b"\n"):
        if line.strip():
            try:
                row = json.loads(line)
            except (ValueError, RecursionError):
                return False
            return isinstance(row, dict) and "schema_version" in row
    return False


def check_output(path: Path, kind: str, force: bool = False, what: str = "--output") -> Path:
    """Refuse (BenchError, one line) a path whose writing would lose something or fail: result rows, another
    file (unless `force`), a folder, a parent that is a file, a folder that cannot be written."""
    path = Path(path)
    real = path.resolve()
    if real.is_dir():
        raise BenchError(f"{what} {path} is a folder; give a .{kind} file")
    if real.exists():
        if holds_rows(real):
            raise BenchError(f"{what} {path} holds result rows; a {kind} file would replace them: give another path")
        try:
            with open(real, "rb") as f:
                head = f.read(4096)
        except OSError as e:
            raise BenchError(f"cannot write {what} {path}: {e.strerror}") from None
        if head and not force and not _OWN[kind](head):
            raise BenchError(
                f"{what} {path} exists and is not a {kind} file this command wrote; give another path, or --force"
            )
    folder = next((p for p in real.parents if p.exists()), None)
    if folder is not None and not folder.is_dir():
        raise BenchError(f"cannot write {what} {path}: {folder} is a file, not a folder")
    if folder is not None and not os.access(folder, os.W_OK | os.X_OK):
        raise BenchError(f"cannot write {what} {path}: permission denied ({folder})")
    return path

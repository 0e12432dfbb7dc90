"""The result rows' store: append-only JSONL, one row per run, schema versioned (bench/rows/schema.py).

A row is written whole and flushed; a truncated last line (a process killed mid-write) is
reported and ignored.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from bench.errors import BenchError


def append_rows(path: Path, rows: list[dict]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, allow_nan=False, default=str) + "\n")
            f.flush()
            os.fsync(f.fileno())


def drop_truncated_tail(path: Path) -> int:
    """Before appending to a store whose last line was cut by a kill: cut back to the end of the
    last whole row, so the next row starts on its own line. Whole rows are left byte for byte.
    Returns the bytes dropped."""
    path = Path(path)
    if not path.is_file():
        return 0
    with open(path, "r+b") as f:
        size = f.seek(0, os.SEEK_END)
        end = size
        while end > 0:  # back to the last newline, a block at a time
            start = max(0, end - 65536)
            f.seek(start)
            newline = f.read(end - start).rfind(b"\n")
            if newline >= 0:
                end = start + newline + 1
                break
            end = start
        if end == size:
            return 0
        f.truncate(end)
        f.flush()
        os.fsync(f.fileno())
    print(
        f"warning: {path}: dropped a truncated last line ({size - end} bytes, a run killed mid-write)", file=sys.stderr
    )
    return size - end


def read_rows(path: Path) -> list[dict]:
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except OSError as e:
        raise BenchError(f"cannot read results {path}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise BenchError(f"malformed results {path}: not UTF-8 text (byte {e.start})") from None
    rows = []
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            if i == last and not path.read_bytes().endswith(b"\n"):
                print(f"warning: {path}: ignoring a truncated last line (a run killed mid-write)", file=sys.stderr)
                continue
            raise BenchError(f"malformed results {path}: line {i + 1} is not JSON") from None
        if not isinstance(row, dict) or "schema_version" not in row:
            raise BenchError(f"malformed results {path}: line {i + 1} is not a result row")
        rows.append(row)
    return rows


def clean_floats(row: dict) -> dict:
    """NaN/inf are not JSON: store them as null."""

    def fix(v):
        if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
            return None
        if isinstance(v, dict):
            return {k: fix(x) for k, x in v.items()}
        if isinstance(v, list):
            return [fix(x) for x in v]
        return v

    return fix(row)

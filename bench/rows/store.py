"""The result rows' store: append-only JSONL, one row per run, schema versioned (bench/rows/schema.py).

A row is written whole and flushed; a truncated last line (a process killed mid-write) is
reported and ignored, a whole last row without its newline is kept (the newline is added before the
next append). One writer at a time: a run holds an exclusive lock (<output>.lock) while it appends.
Rows are checked on read (bench/rows/validate.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

from filelock import lock_descriptor

from bench.errors import BenchError
from bench.rows.schema import METRICS, STATUSES, kind_of
from bench.rows.validate import check_row, row_problem

METRIC_NAMES = tuple(m.name for m in METRICS)  # numbers (or null) wherever a row has them


def append_rows(path: Path, rows: list[dict]) -> None:
    """Append whole rows. A row that cannot be written (a full disk, a file-size limit, a number JSON cannot
    hold) is printed to stderr, the file is cut back to its earlier rows, and BenchError says why."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as e:
        raise BenchError(f"cannot write results {path}: {e.strerror}") from None
    try:
        for i, row in enumerate(rows):
            start = os.lseek(fd, 0, os.SEEK_END)
            try:
                problem = row_problem(row, METRIC_NAMES, STATUSES)
                if problem:  # the writer stores no row its readers would refuse
                    raise ValueError(f"{problem} (a row its readers would refuse)")
                data = memoryview((json.dumps(row, allow_nan=False, default=str) + "\n").encode())
                while data:  # unbuffered: nothing is left to flush (and fail) on close
                    data = data[os.write(fd, data) :]
                os.fsync(fd)
            except (OSError, ValueError) as e:
                _unsaved(path, fd, start, rows[i:], e)
    finally:
        os.close(fd)


def _unsaved(path: Path, fd: int, start: int, rows: list[dict], e: Exception) -> None:
    """The rows from the one that failed on are printed to stderr (measured work is not thrown away)."""
    with contextlib.suppress(OSError):
        os.ftruncate(fd, start)  # no partial row left behind
    for row in rows:
        print(f"unsaved row: {json.dumps(row, default=str)}", file=sys.stderr)
    why = e.strerror if isinstance(e, OSError) else str(e) if "refuse" in str(e) else f"{e} (NaN or Infinity in a row)"
    raise BenchError(
        f"cannot append to results {path}: {why}; the row(s) above were not stored, earlier rows are kept"
    ) from None


@contextlib.contextmanager
def locked(path: Path, wait: bool = False):
    """Hold the store's exclusive lock (<path>.lock, filelock's native lock: flock, LockFileEx on Windows) for the
    `with` block; the lock file is removed when the block ends (where the system lets an open file be removed).
    A second writer is refused at once (BenchError): waiting could run a run twice when
    both had read the rows first. `wait`: wait for the lock instead, for a writer that reads what it needs only
    once it holds the lock (`history add`)."""
    path = Path(path).resolve()  # one lock per file, whatever link it is reached through
    lock = path.with_name(path.name + ".lock")
    fd = _take_lock(path, lock, wait)
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                os.unlink(lock)  # nothing left behind; a writer that opened it meanwhile takes a new one
        os.close(fd)  # releases the lock


def _take_lock(path: Path, lock: Path, wait: bool) -> int:
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise BenchError(f"cannot write results {path}: {e.strerror} (creating its lock {lock.name})") from None
        try:
            taken = lock_descriptor(fd, blocking=wait)
        except OSError as e:  # no native lock on this file system
            os.close(fd)
            raise BenchError(f"cannot write results {path}: cannot lock {lock.name}: {e.strerror or e}") from None
        if not taken:
            os.close(fd)
            raise BenchError(
                f"results {path} are being written by another run (it holds {lock.name}); refusing a second "
                "writer: wait for that run to end, then --resume, or give another --output"
            )
        try:
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # the writer before us removed this lock file as we took it: take the new one


def in_progress(path: Path) -> bool:
    """A writer holds the file's lock now (a run still appending to it). Asked through `locked`, so it follows
    the one locking rule; a folder no lock can be made in has no writer holding one either."""
    if not os.access(Path(path).resolve().parent, os.W_OK | os.X_OK):
        return False
    try:
        with locked(path):
            return False
    except BenchError:
        return True


def check_writable(path: Path) -> None:
    """Before any run: the results file can be created or appended to (a file this check creates is removed
    again, so a suite refused later leaves nothing behind)."""
    path = Path(path)
    if path.is_dir():
        raise BenchError(f"--output {path} is a folder; give a .jsonl file")
    existed = path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8"):
            pass
        if not existed:
            path.unlink()
    except OSError as e:
        raise BenchError(f"cannot write results {path}: {e.strerror}") from None


def check_appendable(path: Path, kinds: tuple[str, ...], what: str = "--output") -> None:
    """Before measuring: `path` can be appended to and holds only rows of `kinds` (a file of other rows, or no
    rows at all, is refused before any work rather than after it)."""
    check_writable(path)
    if Path(path).is_file() and Path(path).stat().st_size:
        rows = read_rows(path)
        if not rows:
            raise BenchError(f"{what} {path} is not empty and holds no result rows; give a .jsonl results file")
        other = sorted({kind_of(r) for r in rows} - set(kinds))
        if other:
            raise BenchError(f"{what} {path} holds {', '.join(other)} rows; give a file of {' or '.join(kinds)} rows")


def drop_truncated_tail(path: Path) -> int:
    """Before appending to a store whose last line was cut by a kill: cut back to the end of the
    last whole row, so the next row starts on its own line. Whole rows are left byte for byte: a last
    row that parses but lacks its newline gets the newline, never cut. Returns the bytes dropped."""
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
        f.seek(end)
        if _is_row(f.read(size - end)):
            f.write(b"\n")  # a whole row, only its newline missing: keep it
            f.flush()
            os.fsync(f.fileno())
            return 0
        f.truncate(end)
        f.flush()
        os.fsync(f.fileno())
    print(
        f"warning: {path}: dropped a truncated last line ({size - end} bytes, a run killed mid-write)", file=sys.stderr
    )
    return size - end


def _is_row(tail: bytes) -> bool:
    try:
        return isinstance(json.loads(tail.decode("utf-8")), dict)
    except (ValueError, RecursionError):
        return False


def read_rows(path: Path, skip_bad: bool = False) -> list[dict]:
    """The file's rows, each checked. A bad line stops the read with one line naming file:line, unless
    `skip_bad` (report, export, history): then it is skipped with that line as a warning, and counted."""
    path = Path(path)
    try:
        data = path.read_bytes()
        lines = data.decode("utf-8").split("\n")
    except OSError as e:
        raise BenchError(f"cannot read results {path}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise BenchError(f"malformed results {path}: not UTF-8 text (byte {e.start})") from None
    rows, bad = [], 0
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rows.append(_row(line, path, i + 1))
        except json.JSONDecodeError:
            if i == last and not data.endswith(b"\n"):
                print(f"warning: {path}: ignoring a truncated last line (a run killed mid-write)", file=sys.stderr)
                continue
            bad = _bad(skip_bad, bad, f"malformed results {path}: line {i + 1} is not JSON")
        except BenchError as e:
            bad = _bad(skip_bad, bad, str(e))
    if bad:
        print(f"warning: {path}: {bad} bad line(s) skipped, {len(rows)} rows read", file=sys.stderr)
    return rows


def _row(line: str, path: Path, n: int) -> dict:
    try:
        row = json.loads(line)
    except json.JSONDecodeError:
        raise
    except (ValueError, RecursionError) as e:  # an integer of thousands of digits, nesting past the stack
        what = "nested too deeply" if isinstance(e, RecursionError) else str(e).split(";")[0]
        raise BenchError(f"malformed results {path}:{n}: {what}") from None
    if not isinstance(row, dict) or "schema_version" not in row:
        raise BenchError(f"malformed results {path}: line {n} is not a result row")
    return check_row(row, f"{path}:{n}", METRIC_NAMES, STATUSES)


def _bad(skip: bool, count: int, message: str) -> int:
    if not skip:
        raise BenchError(message)
    print(f"warning: {message}; skipped", file=sys.stderr)
    return count + 1


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

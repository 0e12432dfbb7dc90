"""The result row and its store: append-only JSONL, one row per run, schema versioned.

A row is written whole and flushed; a truncated last line (a process killed mid-write) is
reported and ignored. Every metric declares whether higher or lower is better.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from bench.errors import BenchError

SCHEMA_VERSION = 1
STATUSES = ("ok", "failed", "oom", "unsupported", "cancelled", "timeout")

# metric -> "higher" or "lower" is better; units are in the names.
DIRECTIONS = {
    "accuracy": "higher",
    "macro_f1": "higher",
    "val_accuracy": "higher",
    "trainable_params": "lower",
    "trainable_pct": "lower",
    "adapter_bytes": "lower",
    "train_tokens_per_s": "higher",
    "train_tokens_per_s_effective": "higher",
    "train_step_ms_p50": "lower",
    "train_step_ms_iqr": "lower",
    "peak_mem_bytes": "lower",
    "infer_tokens_per_s": "higher",
    "infer_latency_ms_p50": "lower",
    "infer_latency_ms_p95": "lower",
    "infer_tokens_per_s_batch": "higher",
    "infer_batch_ms_p50": "lower",
    # generation tasks: the task's metric (`score`, 0-1) and the serving clocks of fixed-length decoding
    "score": "higher",
    "exact_match": "higher",
    "rougeL": "higher",
    "bleu": "higher",
    "gen_ttft_ms_p50": "lower",
    "gen_ttft_ms_p95": "lower",
    "gen_tpot_ms_p50": "lower",
    "gen_tpot_ms_p95": "lower",
    "gen_tokens_per_s": "higher",
    "gen_tokens_per_s_batch": "higher",
    "gen_batch_ttft_ms_p50": "lower",
    "gen_batch_tpot_ms_p50": "lower",
}


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


def ok_runs(rows: list[dict]) -> dict[str, dict]:
    """config_hash -> the first `ok` run row with it (what --resume skips)."""
    done: dict[str, dict] = {}
    for row in rows:
        if row.get("kind", "run") == "run" and row.get("status") == "ok" and row.get("config_hash"):
            done.setdefault(row["config_hash"], row)
    return done


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

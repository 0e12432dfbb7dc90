"""Result rows checked on read (pure): the types of the fields every reader relies on, finite numbers
only, the keys each kind of row needs. Report, compare, baseline and --resume read rows through
bench/rows/store.read_rows, so a bad row stops each of them with one line naming file:line and field.
"""

from __future__ import annotations

import math

from bench.errors import BenchError
from bench.rows.schema import KINDS

REQUIRED = {
    "run": ("schema_version", "task", "method", "status"),
    "switch": ("schema_version", "strategy", "n_tasks", "batch_size", "popularity", "order", "status"),
    "serve": ("schema_version", "strategy", "n_tasks", "status"),
}
STRINGS = (
    "task",
    "method",
    "base_method",
    "model",
    "suite",
    "config_hash",
    "also_hash",
    "task_digest",
    "machine_class",
    "machine_id",
    "run_id",
    "created_at",
    "metric",
    "model_kind",
    "strategy",
    "popularity",
    "order",
    "length",
)
OPTIONAL_STRINGS = ("error", "git_sha", "lr_source")  # may be null
INTEGERS = ("schema_version", "seed", "task_version", "n_tasks", "batch_size")
MAPPINGS = ("env", "budget", "measure", "method_params", "gates")
MAX_DEPTH = 32  # nesting of lists and mappings a row may have (real rows: 3)
MAX_INT = 2**63  # counts beyond 64 bits are not measurements


def number_fields(directions) -> tuple[str, ...]:
    """The fields that hold a number or null: every metric with a direction and its interval bounds."""
    extra = ("total_params", "wall_s", "n_eval", "n_val", "train_steps", "loss_first", "loss_last")
    return (*directions, *(f"{m}_ci_{side}" for m in directions for side in ("low", "high")), *extra)


def _kind_of(value) -> str:
    names = {
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        list: "a list",
        dict: "a mapping",
    }
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _walk(value, field: str, depth: int = 0) -> str | None:
    """The first problem anywhere inside a value: a non-finite number, a huge integer, deep nesting."""
    if depth > MAX_DEPTH:
        return f"{field}: nested more than {MAX_DEPTH} levels deep"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{field}: {value} is not a finite number"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= MAX_INT:
        return f"{field}: an integer of {len(str(abs(value)))} digits, beyond 64 bits"
    if isinstance(value, dict):
        for k, v in value.items():
            problem = _walk(v, f"{field}.{k}", depth + 1)
            if problem:
                return problem
    elif isinstance(value, list):
        for i, v in enumerate(value):
            problem = _walk(v, f"{field}[{i}]", depth + 1)
            if problem:
                return problem
    return None


def value_problem(value, field: str) -> str | None:
    """What a reader would refuse anywhere inside one value (`field: problem`), or None: the check a writer
    makes before it records a setting."""
    return _walk(value, field)


def row_problem(row, directions, statuses) -> str | None:
    """What is wrong with one parsed row (`field: problem`), or None when every reader can take it."""
    if not isinstance(row, dict):
        return f"not a result row but {_kind_of(row)}"
    kind = row.get("kind", "run")
    if kind not in KINDS:
        return f"kind: {kind!r}; valid kinds: {', '.join(KINDS)}"
    missing = [k for k in REQUIRED[kind] if k not in row]
    if missing:
        return f"{missing[0]}: missing (a {kind} row needs {', '.join(REQUIRED[kind])})"
    for key, value in row.items():
        problem = _walk(value, key)
        if problem:
            return problem
    checks = (
        (STRINGS, lambda v: isinstance(v, str), "a string"),
        (OPTIONAL_STRINGS, lambda v: v is None or isinstance(v, str), "a string or null"),
        (INTEGERS, lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
        (MAPPINGS, lambda v: v is None or isinstance(v, dict), "a mapping or null"),
        (number_fields(directions), _is_number, "a number or null"),
    )
    for keys, ok, what in checks:
        for key in keys:
            if key in row and not ok(row[key]):
                return f"{key}: expected {what}, got {_kind_of(row[key])}"
    for key, value in row.items():  # raw timing samples (a serve row keeps its profile's per batch size)
        if key.endswith("_samples") and value is not None and kind != "serve":
            if not isinstance(value, list) or not all(_is_number(x) for x in value):
                return f"{key}: expected a list of numbers, got {_kind_of(value)}"
    if row["status"] not in statuses:
        return f"status: {row['status']!r}; valid statuses: {', '.join(statuses)}"
    return None


def _is_number(value) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def check_row(row, where: str, directions, statuses) -> dict:
    """The row, or BenchError naming `where` (file:line) and the field."""
    problem = row_problem(row, directions, statuses)
    if problem:
        raise BenchError(f"malformed results {where}: {problem}")
    return row

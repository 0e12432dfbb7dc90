"""Result rows checked on read (pure): the types of the fields every reader relies on, finite numbers
only, the keys each kind of row needs. Report, compare, baseline and --resume read rows through
bench/rows/store.read_rows, so a bad row stops each of them with one line naming file:line and field.
"""

from __future__ import annotations

import math

from bench.errors import BenchError
from bench.rows.fields import Field
from bench.rows.kinds import SERVE, of
from bench.rows.schema import KINDS

# What a reader refuses follows from each kind's declaration (bench/rows/kinds.py): a row without a field its
# kind `needs`, and a declared field of another JSON type (null reads as absent, but in a needed field; an int is
# a number; an optional count may be a float).
MAX_DEPTH = 32  # nesting of lists and mappings a row may have (real rows: 3)
MAX_INT = 2**63  # counts beyond 64 bits are not measurements


def number_fields(directions) -> tuple[str, ...]:
    """The metrics, with a direction or not, and their interval bounds: a number or null in a row of any kind."""
    return (*directions, *(f"{m}_ci_{side}" for m in directions for side in ("low", "high")))


_EXPECTED = {
    "str": (lambda v: isinstance(v, str), "a string"),
    "int": (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
    "number": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), "a number"),
    "bool": (lambda v: isinstance(v, bool), "a boolean"),
    "list": (lambda v: isinstance(v, list), "a list"),
    "dict": (lambda v: isinstance(v, dict), "a mapping"),
}


def expected(f: Field) -> str | None:
    """What a reader takes for a declared field: a key of _EXPECTED (None: a field of several JSON types, which
    only its declaration checks). A count (an int) read back as a float is a number, unless every row has it."""
    types = set(f.type.split("|")) - {"null"}
    if types <= {"int", "float"}:
        return "int" if types == {"int"} and f.required else "number"
    return types.pop() if len(types) == 1 else None


def field_problem(f: Field, value, needed: bool = False) -> str | None:
    """`field: expected ..., got ...` when a reader would refuse `value` for the declared field `f`. Null reads
    as absent, except in a field the row's kind `needs` whose declaration has no null."""
    kind = expected(f)
    if kind is None:
        return None
    ok, what = _EXPECTED[kind]
    nullable = not needed or "null" in f.type
    if ok(value) or (nullable and value is None):
        return None
    return f"{f.name}: expected {what}{' or null' if nullable else ''}, got {_kind_of(value)}"


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
    decl = of(row)
    if decl is None:
        return f"kind: {row.get('kind')!r}; valid kinds: {', '.join(KINDS)}"
    missing = [k for k in decl.needs if k not in row]
    if missing:
        return f"{missing[0]}: missing (a {decl.name} row needs {', '.join(decl.needs)})"
    for key, value in row.items():
        problem = _walk(value, key)
        if problem:
            return problem
    for key, value in row.items():
        problem = field_problem(decl.fields[key], value, key in decl.needs) if key in decl.fields else None
        if problem:
            return problem
    for key in number_fields(directions):
        if key in row and not _is_number(row[key]):
            return f"{key}: expected a number or null, got {_kind_of(row[key])}"
    for key, value in row.items():  # raw timing samples (a serve row keeps its profile's per batch size)
        if key.endswith("_samples") and value is not None and decl is not SERVE:
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

"""Each kind of result row declared once (pure): its fields and their JSON types (bench/rows/fields.py), what
every reader needs of it, what identifies it and how a row is named. What follows from a declaration:

- the checks a reader makes of a row (bench/rows/validate.py): `needs`, and each declared field's type;
- compare's match key and --resume's config hash (bench/execute/identity.py): `key`, `hashed`, and `shape_key`
  for a shape-only model (random weights, shape:<name>: the layers it kept and its weights' dtype);
- which keys two rows differ in, when compare pairs none (bench/analysis/compare.py): the same key;
- the settings that make serve rows one fleet (bench/analysis/fleets.py): the key but its `series`, with the
  `context` the key determines;
- how compare names a row (`label`; its fields are the kind's display columns);
- docs/rows.md: its tables list each kind's fields with their types, and its identity line is `identity_line`
  (tests/rows/test_rows_doc.py checks both).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field

from bench.rows.fields import RUN_FIELDS, SERVE_FIELDS, SWITCH_FIELDS, Field
from bench.rows.schema import KINDS, kind_of

SOURCE = "source"  # not a row's field: the file a row was read from, when a report reads several


@dataclass(frozen=True)
class RowKind:
    name: str
    fields: Mapping[str, Field]
    needs: tuple[str, ...]  # every reader needs them: a row without one is refused on read
    key: tuple[str, ...]  # compare's match key, besides the kind, the schema version and the device kind
    label: str  # how compare names a row: a format over its fields, the kind's display columns
    shape_key: tuple[str, ...] = ()  # added to the key (and the hash) for a shape-only model
    hashed: tuple[str, ...] = ()  # the config hash's fields (--resume), shape_key aside; empty: not resumable
    series: str = ""  # the field the rows of one experiment differ in (one row each)
    context: tuple[str, ...] = ()  # fields the key determines, shown with the experiment's settings
    key_names: Mapping[str, str] = field(default_factory=dict)  # a key field's name where a user knows another

    def __post_init__(self):
        named = (*self.needs, *self.key, *self.shape_key, *self.hashed, *self.context, *self.columns, *self.key_names)
        unknown = [n for n in (*named, *([self.series] if self.series else ())) if n not in self.fields]
        if unknown:
            raise ValueError(f"row kind {self.name}: {unknown[0]!r} is not one of its declared fields")

    @property
    def columns(self) -> tuple[str, ...]:
        """The fields a row's label shows, in its order."""
        return tuple(f for _, f, _, _ in string.Formatter().parse(self.label) if f)

    def key_fields(self, shape: bool = False) -> tuple[str, ...]:
        """The fields compare matches a row of this kind on (a shape-only model's: with `shape_key`)."""
        return (*self.key, *self.shape_key) if shape else self.key

    def hash_fields(self) -> tuple[str, ...]:
        """The fields a config hash may be made of (shape_key only for a shape-only model)."""
        return (*self.hashed, *self.shape_key)

    def setting(self) -> tuple[str, ...]:
        """What makes rows one experiment but for their `series`: the key without it, with its `context`, in the
        fields' declared order; then the file they were read from."""
        chosen = (set(self.key) - {self.series}) | set(self.context)
        return (*(f for f in self.fields if f in chosen), SOURCE)


RUN = RowKind(
    "run",
    RUN_FIELDS,
    needs=("schema_version", "task", "method", "status"),
    key=("task", "task_version", "model", "method", "method_params", "seed", "budget"),
    label="{task} / {method}{method_params} seed {seed}",
    shape_key=("layers", "dtype"),
    key_names={"layers": "model.layers", "dtype": "model.dtype"},  # the options that set them
    hashed=("schema_version", "task", "task_version", "model", "method", "base_method", "method_params", "seed")
    + ("budget", "measure"),
)
SWITCH = RowKind(
    "switch",
    SWITCH_FIELDS,
    needs=("schema_version", "strategy", "n_tasks", "batch_size", "popularity", "order", "status"),
    key=("model", "strategy", "n_tasks", "batch_size", "popularity", "order", "length"),  # the seed is in `sweep`
    label="switch {strategy} N={n_tasks} b={batch_size} {popularity}/{order}/{length}",
    shape_key=("layers", "dtype"),
    key_names={"layers": "model.layers", "dtype": "model.dtype"},
    series="strategy",
)
SERVE = RowKind(
    "serve",
    SERVE_FIELDS,
    needs=("schema_version", "strategy", "n_tasks", "status"),
    key=("model", "layers", "dtype", "strategy", "n_tasks", "rank", "targets", "popularity", "arrivals", "cv")
    + ("tokens_per_request", "max_batch", "max_wait_ms", "slo_rule"),
    label="serve {strategy} N={n_tasks} r={rank} {model}",
    series="strategy",
    context=("hidden_size",),  # one per model: shown and varied with the settings, never matched on
)
BY_NAME: dict[str, RowKind] = {k.name: k for k in (RUN, SWITCH, SERVE)}
assert tuple(BY_NAME) == KINDS, "a row kind of bench/rows/schema.py KINDS without its declaration"


def of(row: dict) -> RowKind | None:
    """A row's declaration (None for a kind no declaration names)."""
    kind = kind_of(row)
    return BY_NAME.get(kind) if isinstance(kind, str) else None


LABEL_PARAMS = ("r", "num_virtual_tokens", "lr")  # the method parameters a run's label shows


def label(row: dict) -> str:
    """How compare names a row: its kind's label over the row's fields (a run's method parameters: those of
    LABEL_PARAMS it has, ` (lr=0.001, r=8)`)."""
    decl = of(row) or SWITCH
    values = {f: row.get(f) for f in decl.columns}
    if "method_params" in values:
        params = ", ".join(f"{k}={v}" for k, v in sorted((row.get("method_params") or {}).items()) if k in LABEL_PARAMS)
        values["method_params"] = f" ({params})" if params else ""
    return decl.label.format(**values)


def identity_line(decl: RowKind) -> str:
    """The sentence of docs/rows.md that names what identifies a row of the kind."""
    names = lambda fields: ", ".join(f"`{f}`" for f in fields)  # noqa: E731
    shape = f"; for a shape-only model also {names(decl.shape_key)}" if decl.shape_key else ""
    line = f"Identity: `compare` matches rows on `kind`, `schema_version`, the device kind, {names(decl.key)}{shape}."
    if decl.hashed:
        line += f" `--resume` matches on `config_hash`, a hash drawn from {names(decl.hashed)}{shape} (see `config_hash` below)."
    return line

"""What makes two runs the same run: the config hash (--resume), and compare's match key.

The rule, stated once:

- A run is identified by what decides its result: the row schema's version, the task and its version, the
  model, the method (and, for a variant, the registered method it runs), the method's resolved parameters
  (defaults written out: `r: 8` given or left implicit is the same run), the seed, the budget and the
  measurement settings. Its config hash is the sha256 of these fields (RUN_FIELDS), read from a planned run
  or from the row it wrote: a row carries every field it was hashed from.
- A shape-only model (shape:<name>, random weights) is also identified by the layers it kept and its weights'
  dtype (`layers`, `dtype`: model.layers, model.dtype); no other model's hash has them, so the rows written
  before these options keep their hashes.
- Not part of it: the device, the suite's name, where rows and adapters go, isolation and timeouts, the
  task file's path and digest (an edited task must bump its version; --resume checks the digest apart),
  and anything timed or measured. A resumed suite, on another device or under another name, finds its
  finished runs.
- Parameters added after rows were committed (LATER_BUDGET_KEYS, LATER_PARAM_KEYS, LATER_RUN_FIELDS): at their defaults they
  drop out of the hash and of compare's match key, so committed rows keep their hashes and still match. Set
  to anything else they count like any field. Rows written while such a parameter was new hashed it written
  out at its default; a planned run also carries that form (`also_hash`, empty when no later parameter is
  at its default) and --resume accepts either.

compare's match key (`match_key`) pairs a baseline row with a current one. It follows the same rule for
later parameters, but differs from the config hash: it includes the row's kind and the kind of device the
row ran on (a timing compares only with timings from the same kind of device), and it leaves out the
measurement settings (compare reads the raw timing samples, however many were taken) and the base method
(a variant's name tells it apart already). It is a tuple of readable JSON texts rather than a hash, and
switching and serving rows have keys of their own (SWITCH_KEY, SERVE_KEY: the workload and the fleet).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from bench.catalog import shapes
from bench.config import Budget
from bench.rows import kinds
from bench.rows.schema import SCHEMA_VERSION, kind_of

if TYPE_CHECKING:
    from bench.execute.spec import RunSpec

# Budget keys added after rows were committed: at their defaults they are left out of what identifies a
# run (its config hash, the key `compare` matches on), so older rows still match.
LATER_BUDGET_KEYS = ("precision", "chat_template")
# Method parameters added after rows were committed, with their defaults: left out of the config hash and
# compare's match at those defaults (rows written while one was new recorded it: --resume accepts both hashes)
LATER_PARAM_KEYS = {"use_rslora": False, "projection": False}  # lora's rsLoRA, prefix tuning's reparameterisation
# Run options added after rows were committed, with their defaults: in the hash only when set otherwise
LATER_RUN_FIELDS = {"deterministic": False}  # torch deterministic algorithms (--deterministic)

# Derived from the row kinds' declarations (bench/rows/kinds.py), declared there once:
RUN_FIELDS = kinds.RUN.hash_fields()  # a run row's fields its config hash is made of
SHAPE_FIELDS = kinds.RUN.shape_key  # in a shape-only model's hash and match key, no other model's
# the fields compare matches rows on, besides the row's kind, schema version and device kind
RUN_KEY, SWITCH_KEY, SERVE_KEY = kinds.RUN.key, kinds.SWITCH.key, kinds.SERVE.key
KEYS = {name: decl.key for name, decl in kinds.BY_NAME.items()}


def params_identity(params: dict) -> dict:
    """A run's resolved method parameters as they identify it: parameters added later, at their defaults,
    dropped, so the runs recorded before them keep their config hashes (pure)."""
    return {k: v for k, v in params.items() if not (k in LATER_PARAM_KEYS and v == LATER_PARAM_KEYS[k])}


def budget_identity(budget: dict | None) -> dict | None:
    """A row's budget as it identifies the run: later keys at their defaults dropped (pure)."""
    if budget is None:
        return None
    defaults = Budget()
    return {k: v for k, v in budget.items() if not (k in LATER_BUDGET_KEYS and v == getattr(defaults, k))}


# ----------------------------------------------------------------------------- the config hash


def planned_fields(spec: RunSpec, method_params: dict) -> dict:
    """A planned run's RUN_FIELDS, as its row will record them; `method_params` resolved, defaults filled in."""
    return {
        "schema_version": SCHEMA_VERSION,
        "task": spec.task,
        "task_version": spec.task_version,
        "model": spec.model,
        "method": spec.method,
        "base_method": spec.base_method or spec.method,
        "method_params": method_params,
        "seed": spec.seed,
        "budget": dataclasses.asdict(spec.budget),
        "measure": dataclasses.asdict(spec.measure),
        "deterministic": spec.deterministic,
        **({"layers": spec.layers, "dtype": spec.dtype} if shapes.is_shape(spec.model) else {}),
    }


def config_hash(run: Mapping, every_param: bool = False) -> str:
    """sha256 of a run's RUN_FIELDS (a planned run's, or a row's own). Later parameters at their defaults
    are left out; with `every_param`, later method parameters are written out (the also_hash form)."""
    as_hashed = {
        "method_params": lambda p: (p or {}) if every_param else params_identity(p or {}),
        "budget": budget_identity,
    }
    payload = {f: as_hashed[f](run[f]) if f in as_hashed else run[f] for f in kinds.RUN.hashed if f != "base_method"}
    base = run.get("base_method")
    if base and base != run["method"]:  # a variant (plain methods keep their old hashes)
        payload["base_method"] = base
    for key, default in LATER_RUN_FIELDS.items():  # absent from rows written before the option: its default
        if run.get(key, default) != default:
            payload[key] = run[key]
    if shapes.is_shape(run["model"]):
        payload.update({k: run.get(k) for k in SHAPE_FIELDS})
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def run_hashes(run: Mapping) -> tuple[str, str]:
    """(config hash, also_hash): the hash with later method parameters written out, or "" when it is the same."""
    h, every = config_hash(run), config_hash(run, every_param=True)
    return h, every if every != h else ""


# ----------------------------------------------------------------------------- --resume


def ok_runs(rows: list[dict]) -> dict[str, dict]:
    """config_hash -> the first `ok` run row with it (what --resume skips)."""
    done: dict[str, dict] = {}
    for row in rows:
        if kind_of(row) == "run" and row.get("status") == "ok" and row.get("config_hash"):
            done.setdefault(row["config_hash"], row)
    return done


def finished(done: dict[str, dict], config_hash: str, also_hash: str) -> dict | None:
    """A planned run's `ok` row among ok_runs(), found by its hash or its also_hash (an empty one finds none)."""
    return done.get(config_hash) or (done.get(also_hash) if also_hash else None)


# ----------------------------------------------------------------------------- compare's match key


def key_fields(row: dict) -> tuple[str, ...]:
    """The fields compare matches `row` on (its kind's key; a shape-only model's with its layers and dtype)."""
    decl = kinds.of(row) or kinds.RUN
    return decl.key_fields(shape=shapes.is_shape(row.get("model", "")))


def match_key(row: dict) -> tuple:
    """Rows are comparable only when they ran the same experiment on the same kind of device: (kind, schema
    version, device kind, then each of key_fields(row) as JSON text)."""
    fields = key_fields(row)
    env = row.get("env") or {}
    identity = {"budget": budget_identity, "method_params": lambda p: params_identity(p or {})}
    values = {f: identity[f](row.get(f)) if f in identity else row.get(f) for f in fields}
    return (
        kind_of(row),
        row.get("schema_version"),
        env.get("device_kind"),
        *(json.dumps(values[f], sort_keys=True, default=str) for f in fields),
    )

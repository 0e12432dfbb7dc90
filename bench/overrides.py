"""How options are set: typed values (a CLI string or a YAML value -> a field's type) and dotted `--set
key=value` overrides merged into frozen dataclasses, every key checked against its field; unknown keys fail
with the valid choices. The options themselves are declared in bench/config.py and bench/options.py.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing

import yaml

from bench import safe_yaml
from bench.errors import BenchError, choices
from bench.options import SWITCH_PRESETS, ServeConfig, SweepConfig, section_problem

NESTED_MAPS = ("params", "task_budget", "variants")  # name -> {key: value} fields, set as NAME.<name>.<key>=value
LIST_MAPS = ("lr_sweep",)  # name -> list of numbers, set as NAME.<name>=a,b,c
MAX_SET = 10_000  # characters of one --set item
POINT_MAPS = ("sweep",)  # name -> list of {key: value}, set as NAME.<name>='[{key: value}, ...]' (YAML)
PLURALS = {int: "integers", float: "numbers"}  # what a list of them is called in an error
NUMBERS = {int: ("an integer", (int,)), float: ("a number", (int, float))}  # what one is called, what passes as one
# a suite's study sections: name -> (their options, named presets); a mapping, a preset's name, or empty for none
SECTIONS = {"switch": (SweepConfig, SWITCH_PRESETS), "serve": (ServeConfig, {})}


# ----------------------------------------------------------------------------- typed values


def _unwrap_optional(tp):
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def coerce(value, tp, key: str):
    """Convert `value` (a CLI string or a YAML value) to type `tp`, or raise BenchError."""
    tp = _unwrap_optional(tp)
    origin = typing.get_origin(tp)
    if origin is tuple:
        (item_tp, *_rest) = typing.get_args(tp)
        if isinstance(value, str):  # "a,b", or as YAML writes a list: "[a, b]", "['a', 'b']"
            text = value.strip()
            text = text[1:-1] if text[:1] + text[-1:] in ("[]", "()") else text
            items = [v.strip().strip("'\"") for v in text.split(",") if v.strip().strip("'\"")]
        elif isinstance(value, (list, tuple)):
            items = list(value)
        else:
            items = [value]
        try:
            return tuple(coerce(v, item_tp, key) for v in items)
        except BenchError:
            if len(items) < 2 or item_tp not in PLURALS:
                raise
            raise BenchError(f"{key}: expected comma-separated {PLURALS[item_tp]}, got {value!r}") from None
    if origin is typing.Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise BenchError(f"{key}: unknown value {value!r}; valid values: {choices(allowed)}")
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on", "false", "0", "no", "off"):
            return value.lower() in ("true", "1", "yes", "on")
        raise BenchError(f"{key}: expected true or false, got {value!r}")
    if tp in NUMBERS:
        what, accepted = NUMBERS[tp]
        if not isinstance(value, bool):  # True is an int to Python, not a number to a user
            if isinstance(value, accepted):
                return tp(value)
            if isinstance(value, str):
                try:
                    return tp(value)
                except ValueError:
                    pass
        raise BenchError(f"{key}: expected {what}, got {value!r}")
    if tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise BenchError(f"{key}: expected a string, got {value!r}")
    return value


def learning_rates(value, key: str) -> tuple[float, ...]:
    """A sweep's learning rates: a list (or "a,b,c") of positive finite numbers -> sorted, without repeats.
    Empty: no sweep."""
    rates = coerce(value, tuple[float, ...], key)
    for lr in rates:
        if not (math.isfinite(lr) and lr > 0):
            raise BenchError(f"{key}: learning rates must be positive numbers, got {lr!r} (e.g. {key}=1e-4,3e-4,1e-3)")
    return tuple(sorted(set(rates)))


def parse_set(item: str) -> tuple[list[str], str]:
    """'budget.batch_size=16' -> (['budget', 'batch_size'], '16')."""
    if len(item) > MAX_SET:
        raise BenchError(f"--set {item[:40]!r}...: {len(item)} characters; at most {MAX_SET}")
    key, sep, value = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise BenchError(f"--set {item!r}: expected key=value, e.g. budget.batch_size=16")
    parts = key.split(".")
    if any(not p for p in parts):
        raise BenchError(f"--set {item!r}: empty part in dotted key {key!r}")
    return parts, value


def update_dataclass(obj, updates: dict, prefix: str):
    """Type-checked dataclasses.replace for nested updates {field: value or dict}."""
    if not isinstance(updates, dict):
        raise BenchError(f"{prefix or 'config'}: expected a mapping, got {updates!r}")
    fields = {f.name: f for f in dataclasses.fields(obj)}
    hints = typing.get_type_hints(type(obj))
    changes = {}
    for name, value in updates.items():
        key = f"{prefix}{name}"
        if name not in fields:
            raise BenchError(f"unknown key {key!r}; valid keys: {choices(prefix + f for f in fields)}")
        current = getattr(obj, name)
        if name in SECTIONS:
            changes[name] = _section(current, value, key)
        elif dataclasses.is_dataclass(current):
            if not isinstance(value, dict) and "name" in {f.name for f in dataclasses.fields(current)}:
                value = {"name": value}  # `model: minilm` is short for `model: {name: minilm}`
            changes[name] = update_dataclass(current, value, f"{key}.")
        elif name in NESTED_MAPS:
            if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
                raise BenchError(f"{key}: expected a mapping of name -> {{key: value}}")
            merged = {m: dict(p) for m, p in current.items()}
            for method, p in value.items():
                merged.setdefault(str(method), {}).update(p)
            changes[name] = merged
        elif name in LIST_MAPS:
            changes[name] = _merge_per_method(
                current, value, key, learning_rates, "learning rates", "[1e-4, 3e-4, 1e-3]"
            )
        elif name in POINT_MAPS:
            changes[name] = _merge_per_method(current, value, key, sweep_points, "points", "[{r: 64, alpha: 128}]")
        else:
            changes[name] = coerce(value, hints[name], key)
    return dataclasses.replace(obj, **changes)


def _section(current, value, key: str):
    """A suite's `switch:` or `serve:` section: None (empty), a preset by name, or its options updated by a
    mapping (from the command's defaults, or from what the section already holds)."""
    cls, presets = SECTIONS[key]
    if value is None or value == "":
        return None
    if isinstance(value, str) and value in presets:
        return presets[value]
    if not isinstance(value, dict):
        raise BenchError(section_problem(key, value))
    fixed = sorted({"model", "device"} & set(value))
    if fixed:
        raise BenchError(
            f"{key}.{fixed[0]}: a suite's {key} section runs on the suite's {fixed[0]}; set {fixed[0]} at the top level"
        )
    return update_dataclass(current or cls(), value, f"{key}.")


def sweep_points(value, key: str) -> tuple[dict, ...]:
    """A sweep's extra points: a list (or its YAML text) of non-empty {parameter: value} mappings."""
    if isinstance(value, str):
        try:
            value = safe_yaml.load(value, key) if value.strip() else []
        except (yaml.YAMLError, ValueError) as e:  # ValueError: an integer past the digit limit
            raise BenchError(
                f"{key}: not valid YAML ({str(e).splitlines()[0]}); e.g. {key}='[{{r: 64, alpha: 128}}]'"
            ) from None
    value = [] if value is None else value
    if not isinstance(value, list) or not all(isinstance(p, dict) and p for p in value):
        got = repr(value)[:80]
        raise BenchError(f"{key}: expected a list of parameter mappings, e.g. [{{r: 64, alpha: 128}}], got {got}")
    return tuple({str(k): v for k, v in p.items()} for p in value)


def _merge_per_method(current: dict, value, key: str, parse, what: str, example: str) -> dict:
    """method -> list (lr_sweep, sweep): each method's list parsed and replaced; an empty list drops it."""
    if not isinstance(value, dict):
        raise BenchError(f"{key}: expected a mapping of method -> {what}, e.g. {{lora: {example}}}")
    merged = dict(current)
    for method, items in value.items():
        items = parse(items, f"{key}.{method}")
        if items:
            merged[str(method)] = items
        else:  # an empty list drops the method's sweep
            merged.pop(str(method), None)
    return merged


def apply_overrides(cfg, sets: list[str], flags: dict[str, str] | None = None):
    """Apply CLI `--set key=value` items (dotted keys) on top of a config. `flags`: {key: the option a user typed
    for it} for items a command built from its options; an error on such an item names the option."""
    for item in sets:
        parts, value = parse_set(item)
        nested: dict = {}
        cursor = nested
        for p in parts[:-1]:
            cursor = cursor.setdefault(p, {})
        cursor[parts[-1]] = value
        if parts[0] in NESTED_MAPS and len(parts) != 3:
            raise BenchError(f"--set {item!r}: {parts[0]} is set as {parts[0]}.<name>.<key>=value")
        if parts[0] in LIST_MAPS and len(parts) != 2:
            raise BenchError(f"--set {item!r}: {parts[0]} is set as {parts[0]}.<method>=1e-4,3e-4,1e-3")
        if parts[0] in POINT_MAPS and len(parts) != 2:
            raise BenchError(f"--set {item!r}: {parts[0]} is set as {parts[0]}.<method>='[{{r: 64, alpha: 128}}]'")
        key = ".".join(parts)
        try:
            cfg = update_dataclass(cfg, nested, "")
        except BenchError as e:
            if not (flags and key in flags and str(e).startswith(f"{key}:")):
                raise
            raise BenchError(f"{flags[key]}{str(e)[len(key) :]}") from None
    return cfg

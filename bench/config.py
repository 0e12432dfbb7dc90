"""Suite configuration: frozen dataclasses, merged as defaults < suite YAML < CLI `--set key=value`.

Every key is type-checked against its dataclass field; unknown keys fail with the valid choices.
Method hyperparameters live under `params.<method>.<key>` (see bench/catalog/methods.py for each
method's fields and defaults).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench import safe_yaml
from bench.errors import BenchError, choices
from bench.paths import builtin_suites_dir


@dataclass(frozen=True)
class Budget:
    """The training and evaluation budget: identical for every method of a suite."""

    epochs: int = 1
    max_steps: int = 0  # 0: derived from epochs
    batch_size: int = 32
    eval_batch_size: int = 64
    max_length: int = 64  # real tokens; prompt tuning's virtual tokens come on top
    train_examples: int = 0  # 0: the whole train split
    eval_examples: int = 0  # 0: the whole test split
    warmup_ratio: float = 0.06  # RoBERTa / LoRA paper practice: linear warm-up, then linear decay
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    group_by_length: bool = True  # batches of similar length (HF Trainer's group_by_length): less padding
    # training steps in fp32, or under torch.autocast to bfloat16 (weights and optimizer stay fp32);
    # evaluation and the inference clocks always run in fp32, so scores stay comparable across settings
    precision: typing.Literal["fp32", "bf16"] = "fp32"
    # causal LMs: the task's prompt goes in as one user turn of the tokenizer's chat template (instruction-
    # tuned models answer after the assistant header; label words and answers lose their leading space)
    chat_template: bool = False


@dataclass(frozen=True)
class Measure:
    """How speed is measured: warm-up, repeats, batch sizes. Samples are kept in the rows."""

    train_warmup_steps: int = 3  # excluded from step timing and throughput
    latency_requests: int = 24  # batch-1 requests timed for latency p50/p95
    latency_warmup: int = 3
    infer_batch_size: int = 32
    infer_repeats: int = 5
    infer_warmup: int = 2
    bootstrap_samples: int = 1000
    validation_examples: int = 200  # cap on the validation split scored after training
    # generation tasks: fixed-length greedy decoding (EOS suppressed) for the serving clocks
    gen_new_tokens: int = 32  # output tokens per timed call
    gen_requests: int = 8  # batch-1 requests timed (TTFT, TPOT)
    gen_repeats: int = 3  # timed calls of one batch of infer_batch_size prompts
    gen_warmup: int = 1


@dataclass(frozen=True)
class ModelOptions:
    """The model a suite (or `bench serve`) runs on. `model: NAME` in YAML (or `--set model=NAME`) sets the name
    alone. `layers` and `dtype` apply to shape-only models (shape:<name>, random weights) only."""

    name: str = "minilm"
    layers: int = 0  # shape-only models: keep the first N layers (0: all)
    dtype: str = "fp32"  # shape-only models: the weights' dtype, fp32, bf16 or fp16


@dataclass(frozen=True)
class SuiteConfig:
    name: str = "custom"
    description: str = ""
    model: ModelOptions = field(default_factory=ModelOptions)
    tasks: tuple[str, ...] = ("rotten_tomatoes",)
    methods: tuple[str, ...] = ("lora", "prompt_tuning", "head_only", "full")
    seeds: tuple[int, ...] = (0,)
    device: str = "auto"
    isolate: bool = True  # one child process per run: peak memory per run, crashes become rows
    keep_adapters: bool = (
        True  # keep each trained PEFT adapter in <results>.adapters/<run_id>/ (false: size it, drop it)
    )
    timeout_s: float = 0.0  # per run, process start included; 0: none. A run past it is killed: a `timeout` row
    # torch.use_deterministic_algorithms and CUBLAS_WORKSPACE_CONFIG: bitwise repeatable GPU runs (slower; an op
    # without a deterministic kernel fails the run). Rows record it; left out of the config hash when off
    deterministic: bool = False
    budget: Budget = field(default_factory=Budget)
    measure: Measure = field(default_factory=Measure)
    params: dict = field(default_factory=dict)  # method name -> {field: value}
    task_budget: dict = field(default_factory=dict)  # task name -> budget overrides (same for all methods)
    # variant name -> {method: BASE, key: value, ...}: one method under several settings in one suite
    # (a LoRA rank sweep: lora_r4: {method: lora, r: 4}); listed in `methods` like any method
    variants: dict = field(default_factory=dict)
    switch: str = ""  # "quick": also run the quick multi-task switching sweep (bench/switching) on the model
    # method name -> learning rates: one run per rate (x tasks x seeds); reports keep the rate with the best
    # mean validation accuracy (bench/analysis/selection.py). Set as lr_sweep.<method>=1e-4,3e-4,1e-3
    lr_sweep: dict = field(default_factory=dict)
    # method name -> more points of its sweep, each a mapping of parameters (a LoRA rank point: {r: 64,
    # alpha: 128, lr: 1e-3}); one run per point (x tasks x seeds), not crossed with lr_sweep's rates, selected
    # together with them. Set as sweep.<method>='[{r: 64, alpha: 128}]' (YAML)
    sweep: dict = field(default_factory=dict)

    def __post_init__(self):
        if isinstance(self.model, str):  # SuiteConfig(model="minilm"), as `model: minilm` in YAML
            object.__setattr__(self, "model", ModelOptions(self.model))


NESTED_MAPS = ("params", "task_budget", "variants")  # name -> {key: value} fields, set as NAME.<name>.<key>=value
LIST_MAPS = ("lr_sweep",)  # name -> list of numbers, set as NAME.<name>=a,b,c
MAX_SET = 10_000  # characters of one --set item
POINT_MAPS = ("sweep",)  # name -> list of {key: value}, set as NAME.<name>='[{key: value}, ...]' (YAML)


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
        return tuple(coerce(v, item_tp, key) for v in items)
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
    if tp is int:
        if isinstance(value, bool):
            raise BenchError(f"{key}: expected an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        raise BenchError(f"{key}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, bool):
            raise BenchError(f"{key}: expected a number, got {value!r}")
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise BenchError(f"{key}: expected a number, got {value!r}")
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
        if dataclasses.is_dataclass(current):
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


# ----------------------------------------------------------------------------- suites


def list_suites(suites_dir: Path | None = None) -> dict[str, Path]:
    """Suite name -> YAML file, from the shipped suites (or `suites_dir`)."""
    return {p.stem: p for p in sorted((suites_dir or builtin_suites_dir()).glob("*.yaml"))}


def read_yaml(path: Path) -> dict:
    try:
        data = safe_yaml.load(Path(path).read_text(), str(path))
    except OSError as e:
        raise BenchError(f"cannot read {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise BenchError(f"malformed file {path}: not UTF-8 text") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise BenchError(f"malformed YAML in {path}{where}: {getattr(e, 'problem', e)}") from None
    except (ValueError, RecursionError) as e:  # an integer past the digit limit, nesting past the stack
        raise BenchError(f"malformed YAML in {path}: {str(e).split(';')[0] or 'nested too deeply'}") from None
    if not isinstance(data, dict):
        raise BenchError(f"malformed file {path}: expected a mapping at the top level")
    return data


def named_yaml(name_or_path: str, files, what: str) -> Path:
    """A YAML file given by path, or by name among `files()` (name -> path); else a one-line error
    listing the valid names. `files` is called only when a name must be looked up."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return path
    known = files()
    if name_or_path not in known:
        plural = "suites" if what == "suite" else f"{what}s"
        raise BenchError(
            f"unknown {what} {name_or_path!r}; valid {plural}: {choices(known)} (or a path to a {what} .yaml)"
        )
    return known[name_or_path]


def load_suite(name_or_path: str, suites_dir: Path | None = None) -> SuiteConfig:
    """A suite by name (tasks/suites/NAME.yaml) or by path to a YAML file."""
    path = named_yaml(name_or_path, lambda: list_suites(suites_dir), "suite")
    data = read_yaml(path)
    data.setdefault("name", path.stem)
    return update_dataclass(SuiteConfig(), data, "")


def to_dict(cfg) -> dict:
    return dataclasses.asdict(cfg)

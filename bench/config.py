"""Suite configuration: frozen dataclasses, merged as defaults < suite YAML < CLI `--set key=value`
(bench/overrides.py), and the checks a suite must pass before anything runs (validate_suite).

Every key is type-checked against its dataclass field; unknown keys fail with the valid choices.
Method hyperparameters live under `params.<method>.<key>` (see bench/catalog/methods.py for each
method's fields and defaults). A suite may also carry the study's `switch:` and `serve:` sections
(bench/options.py), run on the suite's model and device after its runs.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from bench import safe_yaml
from bench.errors import BenchError, choices
from bench.options import (
    QUICK,
    ModelOptions,
    ServeConfig,
    SweepConfig,
    check_device,
    section_problem,
    validate_serve,
    validate_switch,
)
from bench.overrides import (  # noqa: F401 - how options are set: these names are imported from here too
    LIST_MAPS,
    MAX_SET,
    NESTED_MAPS,
    POINT_MAPS,
    apply_overrides,
    coerce,
    learning_rates,
    parse_set,
    sweep_points,
    update_dataclass,
)
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
    # the study's switching sweep and serving run, on the suite's model and device after its runs: `switch: quick`
    # (the small sweep), or a mapping of `switch` options (bench/options.py SweepConfig); `serve:` a mapping of
    # `serve` options (ServeConfig). Empty: none
    switch: SweepConfig | None = None
    serve: ServeConfig | None = None
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
        if self.switch in ("", "quick"):  # SuiteConfig(switch="quick"), as `switch: quick` in YAML
            object.__setattr__(self, "switch", QUICK if self.switch else None)


# ----------------------------------------------------------------------------- checks


def validate_suite(cfg: SuiteConfig) -> SuiteConfig:
    """Every check a suite's options need on their own (one line naming the problem); what needs the catalog
    (task files, methods, models) is checked when the suite is planned (bench/execute/suite.py). Returns cfg."""
    if not cfg.tasks or not cfg.methods or not cfg.seeds:
        raise BenchError("a suite needs at least one task, one method and one seed")
    for key, values in (("tasks", cfg.tasks), ("methods", cfg.methods), ("seeds", cfg.seeds)):
        repeated = sorted({str(v) for v in values if values.count(v) > 1})
        if repeated:
            raise BenchError(f"{key}: {', '.join(repeated)} listed more than once; each run must be distinct")
    unused = set(cfg.variants) - set(cfg.methods)
    if unused:
        raise BenchError(f"variants defined but not listed in methods: {', '.join(sorted(unused))}")
    unknown = set(cfg.params) - set(cfg.methods)
    if unknown:
        raise BenchError(
            f"params given for method(s) not in this suite: {', '.join(sorted(unknown))}; "
            f"suite methods: {', '.join(cfg.methods)}"
        )
    wrong = [s for s in cfg.seeds if not 0 <= s < 2**32]  # numpy's seeding takes no other
    if wrong:
        raise BenchError(f"seeds: {wrong[0]} is out of range; seeds are integers from 0 to 2**32-1 (4294967295)")
    _check_measure(cfg.measure)
    if not cfg.timeout_s >= 0:
        raise BenchError(f"timeout_s: {cfg.timeout_s}; give seconds > 0, or 0 for no timeout")
    check_device(cfg.device)
    for key, section, check in (("switch", switch_of(cfg), validate_switch), ("serve", serve_of(cfg), validate_serve)):
        value = getattr(cfg, key)
        if value is not None and section is None:
            raise BenchError(section_problem(key, value))
        if section is not None:
            check(section)
    return cfg


def check_budget(b: Budget) -> Budget:
    """A training budget in range (a suite's, or one task's with its task_budget overrides)."""
    if b.batch_size < 1 or b.max_length < 2 or b.epochs < 1 or b.max_steps < 0:
        raise BenchError("budget: batch_size >= 1, max_length >= 2, epochs >= 1 and max_steps >= 0 are required")
    if not (0 <= b.warmup_ratio <= 1 and b.weight_decay >= 0 and b.grad_clip >= 0):
        raise BenchError(
            f"budget: warmup_ratio from 0 to 1 (got {b.warmup_ratio}), weight_decay >= 0 (got {b.weight_decay}) "
            f"and grad_clip >= 0 (got {b.grad_clip}) are required"
        )
    return b


def _check_measure(m: Measure) -> None:
    if (
        min(m.latency_requests, m.infer_batch_size, m.infer_repeats, m.gen_new_tokens, m.gen_requests, m.gen_repeats)
        < 1
        or min(m.train_warmup_steps, m.latency_warmup, m.infer_warmup, m.gen_warmup, m.validation_examples) < 0
    ):
        raise BenchError(
            "measure: request, repeat, batch and token counts must be >= 1, warm-ups and validation_examples >= 0"
        )
    if m.bootstrap_samples < 1:
        raise BenchError(f"measure.bootstrap_samples: {m.bootstrap_samples}; give at least 1 (default 1000)")


def switch_of(cfg: SuiteConfig, output: Path | None = None) -> SweepConfig | None:
    """The suite's switching sweep as it runs: on the suite's model and device; without adapters of its own, on
    the adapters the suite's runs kept beside `output`. None: the suite has none."""
    if not isinstance(cfg.switch, SweepConfig):
        return None
    given = cfg.switch.adapters_from or (str(output) if output else "")
    return replace(cfg.switch, model=cfg.model, device=cfg.device, adapters_from=given)


def serve_of(cfg: SuiteConfig) -> ServeConfig | None:
    """The suite's serving run as it runs: on the suite's model and device. None: the suite has none."""
    if not isinstance(cfg.serve, ServeConfig):
        return None
    return replace(cfg.serve, model=cfg.model, device=cfg.device)


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

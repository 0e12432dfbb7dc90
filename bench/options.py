"""The options every command shares, and the `switch` and `serve` commands' own, declared once: the model
(ModelOptions), the device (DEVICES), the switching strategies and workload names, SweepConfig (`switch`, a
suite's `switch:` section) and ServeConfig (`serve`, a suite's `serve:` section), with the checks that need
nothing but the options themselves. Names only: importing this stays light (no torch).

They are set like a suite's keys (bench/config.py): defaults < a suite YAML's section < `--set key=value`,
each command's flags being aliases of `--set` keys (bench/cli/options.py).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from bench.errors import BenchError, choices

DEVICES = ("auto", "cpu", "cuda")  # auto: cuda when available


@dataclass(frozen=True)
class ModelOptions:
    """The model a command runs on. `model: NAME` in YAML (or `--set model=NAME`) sets the name alone.
    `layers` and `dtype` apply to shape-only models (shape:<name>, random weights) only."""

    name: str = "minilm"
    layers: int = 0  # shape-only models: keep the first N layers (0: all)
    dtype: str = "fp32"  # shape-only models: the weights' dtype, fp32, bf16 or fp16


# every switching strategy, in the order tables show them (bench/switching/strategies.py serves each)
STRATEGIES = (
    "base",
    "merge_swap",
    "set_adapter",
    "hotswap",
    "hotswap_compiled",
    "load_cold",
    "load_warm",
    "peft_mixed_batch",
    "gathered_lora",
    "prompt_swap",
    "mixed_prompt_batch",
)
# the strategies that serve soft prompts (the rest serve LoRA adapters, or the base model alone)
PROMPT_STRATEGIES = ("prompt_swap", "mixed_prompt_batch")
# the strategies `serve` runs by default: every one but the compiled hotswap and the variants of a swap that
# only `switch` tells apart (a cold or warm load, a swapped soft prompt)
SERVE_STRATEGIES = tuple(
    s for s in STRATEGIES if s not in ("hotswap_compiled", "load_cold", "load_warm", "prompt_swap")
)
POPULARITIES = ("uniform", "zipf")  # how requests spread over tasks: equal shares, or 1/rank^alpha
ORDERS = ("grouped", "shuffled")  # switch: requests of one task together, or shuffled
LENGTHS = {"short": 16, "long": 64}  # switch: tokens per request
PROCESSES = ("poisson", "gamma")  # serve: arrival processes
TARGETS = ("attention", "attention+mlp")  # serve: the LoRA targets of a shape-only model
MAX_TASKS = 65_536  # adapters in one fleet


def _model() -> ModelOptions:
    return ModelOptions()


@dataclass(frozen=True)
class SweepConfig:
    """`python -m bench switch`: for each number of tasks, every strategy serves every workload."""

    name: str = "switch"  # rows record it as their suite
    model: ModelOptions = field(default_factory=_model)
    tasks_n: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)
    batch_sizes: tuple[int, ...] = (1, 8, 32)
    popularities: tuple[str, ...] = POPULARITIES
    orders: tuple[str, ...] = ORDERS
    lengths: tuple[str, ...] = tuple(LENGTHS)
    strategies: tuple[str, ...] = STRATEGIES
    requests: int = 128
    repeats: int = 3
    rank: int = 8
    virtual_tokens: int = 20
    device: str = "auto"
    seed: int = 0
    adapters_from: str = ""  # a results .jsonl whose kept adapters (runs of this model) fill the first slots

    def __post_init__(self):
        if isinstance(self.model, str):  # SweepConfig(model="minilm"), as `model: minilm` in YAML
            object.__setattr__(self, "model", ModelOptions(self.model))


# The sweep inside the default `run` (`switch: quick`): small enough for a few minutes on 2 CPU cores.
QUICK = SweepConfig(
    name="switch-quick",
    tasks_n=(1, 4, 16),
    batch_sizes=(32,),
    popularities=("uniform",),
    lengths=("short",),
    strategies=tuple(s for s in STRATEGIES if s != "hotswap_compiled"),
    requests=64,
    repeats=2,
)
SWITCH_PRESETS = {"quick": QUICK}  # a suite's `switch: NAME`


@dataclass(frozen=True)
class ProfileConfig:
    """How `serve` measures each strategy's service times on the real model."""

    batch_sizes: tuple[int, ...] = (1, 8, 32)
    distinct: tuple[int, ...] = (1, 32)  # distinct adapters in a batch (mixed strategies)
    tokens: int = 16  # per request
    repeats: int = 2
    warmup: int = 0  # whole rounds discarded (each strategy also runs one untimed batch of 1 first)
    swaps: int = 3  # swaps timed per round (one-adapter-at-a-time strategies)


@dataclass(frozen=True)
class ServeConfig:
    """`python -m bench serve`: each strategy's highest request rate at a latency SLO."""

    name: str = "serve"  # rows record it as their suite
    # shape-only models (shape:<name>, random weights): their first `layers` layers (0: all), in `dtype`
    model: ModelOptions = field(default_factory=lambda: ModelOptions("shape:llama-3.2-1b", layers=2))
    strategies: tuple[str, ...] = SERVE_STRATEGIES
    tasks_n: tuple[int, ...] = (64,)
    ranks: tuple[int, ...] = (16,)  # LoRA ranks: one fleet per rank and N
    targets: str = "attention"  # attention (q, k, v, o) or attention+mlp; other models: PEFT's defaults
    virtual_tokens: int = 20
    popularity: str = "zipf"
    alpha: float = 1.0  # Zipf exponent
    arrivals: str = "poisson"
    cv: float = 1.0  # Gamma arrivals: coefficient of variation of the gaps
    tokens: int = 16  # per request
    max_batch: int = 32
    max_wait_ms: float = 0.0
    slo_ms: float = 0.0  # 0: slo_factor x the base model's service time for a batch of max_batch
    slo_factor: float = 4.0
    rates: tuple[float, ...] = ()  # extra rates (req/s) at which every strategy's simulated latency is recorded
    sim_requests: int = 10000  # requests per simulation
    # real-time runs at these fractions of each strategy's rate at the SLO
    validate: tuple[float, ...] = (0.5, 0.8, 1.0)
    validate_seconds: float = 10.0  # of arrivals per real-time run below 1.0x (at least 8, at most 48 requests)
    validate_p99_requests: int = 200  # requests of the run at 1.0x: enough for a p99 (0: that run like the others)
    profile: ProfileConfig = field(default_factory=ProfileConfig)
    device: str = "auto"
    seed: int = 0
    # a results .jsonl of earlier runs of this model: their kept adapters and soft prompts fill the first slots
    # (the fleet at their rank, targets and virtual tokens) and the requests are their tasks' test inputs
    adapters_from: str = ""
    adapters_tasks: tuple[str, ...] = ()  # with adapters_from: only these tasks' runs (default: every task of the runs)

    def __post_init__(self):
        if isinstance(self.model, str):
            object.__setattr__(self, "model", ModelOptions(self.model))


# ----------------------------------------------------------------------------- checks


def check_device(requested: str) -> str:
    """A device name every command takes (resolved where the work runs: bench/execute/device.py)."""
    if requested not in DEVICES:
        raise BenchError(f"unknown device {requested!r}; valid devices: {', '.join(DEVICES)}")
    return requested


def _check_names(what: str, values, valid) -> None:
    bad = [v for v in values if v not in valid]
    if bad or not values:
        raise BenchError(f"unknown {what} {bad[0] if bad else '(none)'!r}; valid: {choices(valid)}")


def _check_counts(flag: str, values, what: str, example: str, most: int | None = None) -> None:
    if not values or min(values) < 1:
        raise BenchError(f"{flag}: every {what} must be at least 1, e.g. {example}")
    if most is not None and max(values) > most:
        raise BenchError(f"{flag}: at most {most} tasks (adapters) in one fleet, got {max(values)}")


def section_problem(key: str, value) -> str:
    """What is wrong with a suite's `switch:` or `serve:` section that is neither empty, a preset nor a mapping."""
    if key == "switch":
        return f"switch: {value!r}; valid values: {', '.join(SWITCH_PRESETS)}, or empty for no switching sweep"
    return f"{key}: {value!r}; give a mapping of {key} options, or empty for none"


def validate_switch(cfg: SweepConfig) -> SweepConfig:
    """The sweep's options in range and among the known names (one line naming the problem); returns cfg."""
    _check_counts("--tasks-n", cfg.tasks_n, "number of tasks", "1,2,4", MAX_TASKS)
    _check_counts("--batch-sizes", cfg.batch_sizes, "batch size", "1,8,32")
    for what, values, valid in (
        ("strategy", cfg.strategies, STRATEGIES),
        ("popularity", cfg.popularities, POPULARITIES),
        ("order", cfg.orders, ORDERS),
        ("length", cfg.lengths, tuple(LENGTHS)),
    ):
        _check_names(what, values, valid)
    if cfg.requests < 1 or cfg.repeats < 1 or cfg.rank < 1 or cfg.virtual_tokens < 1:
        raise BenchError("requests, repeats, rank and virtual tokens must be at least 1")
    check_device(cfg.device)
    return cfg


def validate_serve(cfg: ServeConfig) -> ServeConfig:
    """The serve run's options in range and among the known names (one line naming the problem); returns cfg."""
    _check_counts("--tasks-n", cfg.tasks_n, "number of tasks", "16,64", MAX_TASKS)
    _check_names("strategy", cfg.strategies, STRATEGIES)
    for what, value, valid in (
        ("popularity", cfg.popularity, POPULARITIES),
        ("arrival process", cfg.arrivals, PROCESSES),
        ("targets", cfg.targets, TARGETS),
    ):
        _check_names(what, (value,), valid)
    for what, value in (
        ("rank", min(cfg.ranks, default=0)),
        ("max batch", cfg.max_batch),
        ("tokens", cfg.tokens),
        ("sim requests", cfg.sim_requests),
    ):
        if value < 1:
            raise BenchError(f"{what} must be at least 1, got {value}")
    if cfg.slo_ms < 0 or cfg.slo_factor <= 0:
        raise BenchError(f"the SLO must be more than 0 ms, got slo_ms={cfg.slo_ms}, slo_factor={cfg.slo_factor}")
    if not cfg.slo_ms and "base" not in cfg.strategies:
        raise BenchError("without --slo-ms the SLO is a multiple of the base model's batch time: add base")
    if any(not r > 0 for r in cfg.rates):
        raise BenchError(f"--rates: every rate must be more than 0 requests per second, got {cfg.rates}")
    if any(not 0 < f <= 1 for f in cfg.validate):
        raise BenchError(f"validate: fractions of the rate at the SLO must be in (0, 1], got {cfg.validate}")
    if cfg.validate_p99_requests < 0:
        raise BenchError(f"validate_p99_requests must be at least 0, got {cfg.validate_p99_requests}")
    if cfg.cv <= 0 or cfg.alpha <= 0 or cfg.max_wait_ms < 0:
        raise BenchError("cv and alpha must be more than 0, max wait at least 0 ms")
    check_device(cfg.device)
    return cfg


def sweep_record(cfg: SweepConfig) -> dict:
    """The sweep's settings as switch rows record them (`sweep`): the model's name, layers and dtype flat, as
    they were before the model became ModelOptions, so every switch row reads alike."""
    record = {k: v["name"] if k == "model" else v for k, v in dataclasses.asdict(cfg).items()}
    return {**record, "layers": cfg.model.layers, "dtype": cfg.model.dtype}

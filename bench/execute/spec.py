"""What one run is, checked without torch: RunSpec (the run a suite plans and an executor hands to
bench/execute/run.py), the settings of a shape-only model's runs (random weights, speed only), and every check a
switch or serve command makes before it starts (check_command)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from bench.catalog import methods, models, shapes, tasks
from bench.config import Budget, Measure
from bench.errors import BenchError, choices
from bench.options import ModelOptions
from bench.rows.validate import value_problem


@dataclass(frozen=True)
class RunSpec:
    suite: str
    task: str  # the task's name, as rows record it
    model: str
    method: str
    seed: int
    device: str  # "cpu" or "cuda" (resolved)
    budget: Budget = field(default_factory=Budget)
    measure: Measure = field(default_factory=Measure)
    params: dict = field(default_factory=dict)  # overrides for this method
    task_path: str = ""  # the task file the plan resolved (built-in, --tasks-dir, or a path)
    adapters_dir: str = ""  # where trained PEFT adapters are kept (empty: measured, then discarded)
    show_progress: bool = True
    task_version: int = 0
    task_digest: str = ""  # Task.digest: the task file's content, recorded so --resume sees an edited task
    config_hash: str = ""  # what makes two runs the same run (bench/execute/identity.py); --resume matches on it
    also_hash: str = ""  # the hash with later parameters written out (identity.run_hashes); --resume accepts it too
    base_method: str = ""  # the registered method a variant runs (empty: `method` itself)
    lr_sweep: tuple[float, ...] = ()  # the learning rates of the sweep this run is one point of (empty: no sweep)
    sweep: tuple[dict, ...] = ()  # the sweep's other points (suite `sweep:`; empty: none)
    deterministic: bool = False  # SuiteConfig.deterministic
    # a shape-only model (shape:<name>, random weights): the layers it keeps and its weights' dtype (model.layers,
    # model.dtype); 0 and "" for a pretrained model
    layers: int = 0
    dtype: str = ""


def model_fields(model: str, layers: int, dtype: str) -> dict:
    """What a run row records about its weights: `weights` (random for a shape-only model, else pretrained), and
    for a shape-only model the layers it kept and its weights' dtype (part of its config hash)."""
    if not shapes.is_shape(model):
        return {"weights": "pretrained"}
    return {"weights": "random", "layers": layers, "dtype": dtype}


def model_options(opts: ModelOptions) -> tuple[int, str]:
    """(layers, dtype) of the suite's runs, checked: a shape-only model's layers kept (its whole depth for
    model.layers=0) and dtype; (0, "") for a pretrained model, which takes neither option."""
    spec = models.resolve(opts.name)
    if not spec.shape:
        if opts.layers or opts.dtype != "fp32":
            raise BenchError(
                f"model.layers and model.dtype apply to shape-only models (shape:<name>), not {opts.name!r}"
            )
        return 0, ""
    if opts.dtype not in shapes.DTYPES:
        raise BenchError(f"unknown model.dtype {opts.dtype!r}; valid dtypes: {choices(shapes.DTYPES)}")
    return shapes.config_dict(spec.shape, opts.layers)["num_hidden_layers"], opts.dtype


def check_command(cfg, validate):
    """Every check a switch or serve run needs before it starts, made once and without torch: its options
    (bench/options.py `validate`), every setting one its rows' readers take (finite numbers, integers within 64
    bits), and its model (known; layers and dtype for shape-only models only). Returns cfg."""
    validate(cfg)
    problem = next((p for k, v in dataclasses.asdict(cfg).items() if (p := value_problem(v, k))), None)
    if problem:  # what a row records must be what its readers take
        raise BenchError(f"{problem}; every number must be finite and every integer within 64 bits")
    model_options(cfg.model)
    return cfg


def task_and_method(spec: RunSpec, row: dict):
    """(task, method, params) of a run: its task file loaded (no examples read) and its method resolved with the
    run's overrides; records on `row` what the run's rows say of them (task version and digest, the method's
    parameters and where its learning rate comes from)."""
    task = tasks.load_task(spec.task_path or spec.task)
    method, params = methods.resolve(spec.base_method or spec.method, spec.params)
    row.update(
        task_version=task.version,
        task_digest=task.digest,
        method_params=methods.params_dict(params),
        lr_source=method.lr_source,
    )
    return task, method, params


def speed_overrides(base_method: str, overrides: dict, method: str) -> dict:
    """A method's parameter overrides on a shape-only model: prompt tuning initialised at random (text
    initialisation reads a tokenizer, which a shape has not)."""
    if base_method != "prompt_tuning":
        return overrides
    if overrides.get("init", "random") != "random":
        raise BenchError(
            f"{method}: init {overrides['init']!r} needs a tokenizer; a shape-only model has none: "
            f"use params.{method}.init=random"
        )
    return {**overrides, "init": "random"}


def train_count(task: tasks.Task, budget: Budget) -> int:
    """Training sequences of a shape-only run: budget.train_examples, else the task's training share of its
    declared size, else max_steps batches; raises when none of them says."""
    n = budget.train_examples or int(task.size * task.split.train) or budget.max_steps * budget.batch_size
    if n < 1:
        raise BenchError(
            f"task {task.name} declares no size: a shape-only model's run needs budget.train_examples or "
            "budget.max_steps (--max-steps N) to know how much to train"
        )
    return n

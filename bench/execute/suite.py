"""A suite's plan: every run it asks for, with every name and setting checked up front (an unknown task, method or
model, a bad --set: one line, exit 2), and each run's config hash. Nothing here imports torch, so bad input
answers at once; bench/execute/launch.py runs the plan."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import replace
from pathlib import Path

from bench.catalog import methods, shapes, tasks
from bench.config import SuiteConfig, check_budget, learning_rates, update_dataclass, validate_suite
from bench.errors import BenchError
from bench.execute.device import resolve_device
from bench.execute.identity import planned_fields, run_hashes
from bench.execute.spec import RunSpec, model_options, speed_overrides, train_count
from bench.options import check_device
from bench.rows.validate import value_problem


def plan(
    cfg: SuiteConfig, tasks_dirs: list[Path] | None = None, show_progress: bool = True, device_for=resolve_device
) -> list[RunSpec]:
    """Every run of the suite, with all names and parameters checked before anything runs, and each
    run's config hash. `device_for` resolves the suite's device (an executor may defer it)."""
    validate_suite(cfg)
    tasks.check_task_files(tasks_dirs)
    loaded = {name: tasks.load_task(name, tasks_dirs) for name in cfg.tasks}
    known = set(tasks.task_files(tasks_dirs)) | set(cfg.tasks) | {t.name for t in loaded.values()}
    unknown = set(cfg.task_budget) - known
    if unknown:
        raise BenchError(
            f"task_budget given for unknown task(s): {', '.join(sorted(unknown))}; "
            f"valid tasks: {', '.join(sorted(known))}"
        )
    budgets = {t: check_budget(update_dataclass(cfg.budget, *_task_budget(cfg, t, loaded[t].name))) for t in cfg.tasks}
    settings = {name: _method_settings(name, cfg) for name in cfg.methods}  # name -> (base method, overrides)
    layers, dtype = model_options(cfg.model)  # a shape-only model's (checked); (0, "") for a pretrained one
    if shapes.is_shape(cfg.model.name):  # random weights: speed only (bench/execute/shape_run.py)
        settings = {m: (base, speed_overrides(base, o, m)) for m, (base, o) in settings.items()}
        for t in cfg.tasks:
            train_count(loaded[t], budgets[t])
    prefix = {name: f"variants.{name}." if name in cfg.variants else "" for name in cfg.methods}
    lr_sweeps, runs, points = _method_runs(cfg, settings, prefix)
    _check_recordable(cfg, runs)
    device = device_for(cfg.device)
    specs = []
    for t in cfg.tasks:
        for m in cfg.methods:
            for params, resolved in runs[m]:
                for seed in cfg.seeds:
                    spec = RunSpec(
                        suite=cfg.name,
                        task=loaded[t].name,
                        task_path=loaded[t].path,
                        model=cfg.model.name,
                        layers=layers,
                        dtype=dtype,
                        method=m,
                        base_method=settings[m][0],
                        seed=seed,
                        device=device,
                        budget=budgets[t],
                        measure=cfg.measure,
                        params=params,
                        show_progress=show_progress,
                        task_version=loaded[t].version,
                        task_digest=loaded[t].digest,
                        lr_sweep=lr_sweeps.get(m, ()),
                        sweep=points.get(m, ()),
                        deterministic=cfg.deterministic,
                    )
                    h, also = run_hashes(planned_fields(spec, resolved))
                    specs.append(replace(spec, config_hash=h, also_hash=also))
    return specs


def _task_budget(cfg: SuiteConfig, given: str, name: str) -> tuple[dict, str]:
    """A task's budget overrides and their key prefix: task_budget is keyed by task name, and a task given as a
    path to its YAML file takes the overrides of its name too."""
    key = given if given in cfg.task_budget else name
    return cfg.task_budget.get(key, {}), f"task_budget.{key}."


def _method_runs(cfg: SuiteConfig, settings: dict[str, tuple[str, dict]], prefix: dict[str, str]):
    """Each method's runs, checked: (method -> its learning rates, method -> [(parameter overrides, resolved
    parameters)] per run: its own setting once per swept rate (or once), then each `sweep` point on top of it;
    method -> its `sweep` points as rows record them). The resolved parameters make each run's config hash,
    so --resume tells the points apart."""
    lr_sweeps = _lr_sweeps(cfg, settings)
    unknown = set(cfg.sweep) - set(cfg.methods)
    if unknown:
        raise BenchError(
            f"sweep given for method(s) not in this suite: {', '.join(sorted(unknown))}; "
            f"suite methods: {', '.join(cfg.methods)}"
        )
    runs, points = {}, {}
    for m in cfg.methods:
        base, overrides = settings[m]
        extra = cfg.sweep.get(m, ())
        if extra and base == "zero_shot":
            raise BenchError(f"sweep.{m}: zero_shot does not train; sweep a method that does")
        own = [{**overrides, "lr": lr} for lr in lr_sweeps.get(m, ())] or [overrides]
        runs[m] = [(p, _resolved_params(base, p, prefix[m])) for p in own]
        resolved = [_resolved_params(base, {**overrides, **p}, f"sweep.{m}[{i}].") for i, p in enumerate(extra)]
        pts = [{k: r[k] for k in p} for p, r in zip(extra, resolved)]  # as the method reads them (YAML: 1e-3 is text)
        runs[m] += [({**overrides, **p}, r) for p, r in zip(pts, resolved)]
        seen = [json.dumps(r, sort_keys=True, default=str) for _, r in runs[m]]
        if len(set(seen)) < len(seen):
            raise BenchError(
                f"sweep.{m}: two points of {m}'s sweep have the same parameters; each run must be distinct"
            )
        if pts:
            points[m] = tuple(pts)
    return lr_sweeps, runs, points


def _check_recordable(cfg: SuiteConfig, runs: dict) -> None:
    """Every setting a row records is one a reader takes (finite numbers, integers within 64 bits); learning
    rates >= 0 (the suite's own ranges: bench/config.py validate_suite)."""
    problems = [value_problem(v, k) for k, v in dataclasses.asdict(cfg).items()]
    problems += [value_problem(r, f"params.{m}") for m, rs in runs.items() for _, r in rs]
    problem = next((p for p in problems if p), None)
    if problem:
        raise BenchError(f"{problem}; every number must be finite and every integer within 64 bits")
    for m, rs in runs.items():
        for _, r in rs:
            if isinstance(r.get("lr"), (int, float)) and r["lr"] < 0:
                raise BenchError(f"params.{m}.lr: {r['lr']} is negative; give a learning rate > 0")


def _method_settings(name: str, cfg: SuiteConfig) -> tuple[str, dict]:
    """(base method, parameter overrides) of a suite's method entry: a variant's settings under its
    `params.<name>` overrides, or a plain method with its overrides."""
    overrides = dict(cfg.params.get(name, {}))
    if name not in cfg.variants:
        return name, overrides
    variant = dict(cfg.variants[name])
    base = variant.pop("method", None)
    if not base or base in cfg.variants or not (base in methods.METHODS or methods.is_adapter_config(str(base))):
        raise BenchError(
            f"variants.{name}: `method` must name a method ({', '.join(sorted(methods.METHODS))}) "
            f"or an adapter_config.json, got {base!r}"
        )
    return str(base), {**variant, **overrides}


def _lr_sweeps(cfg: SuiteConfig, settings: dict[str, tuple[str, dict]]) -> dict[str, tuple[float, ...]]:
    """method -> its learning rates, checked: a method of the suite that trains, without a fixed lr of its own."""
    unknown = set(cfg.lr_sweep) - set(cfg.methods)
    if unknown:
        raise BenchError(
            f"lr_sweep given for method(s) not in this suite: {', '.join(sorted(unknown))}; "
            f"suite methods: {', '.join(cfg.methods)}"
        )
    sweeps = {}
    for m in dict.fromkeys(cfg.methods):
        lrs = learning_rates(cfg.lr_sweep.get(m, ()), f"lr_sweep.{m}")
        if not lrs:
            continue
        base, overrides = settings[m]
        if base == "zero_shot":
            raise BenchError(f"lr_sweep.{m}: zero_shot does not train; sweep a method that does")
        if "lr" in overrides:
            where = f"params.{m}.lr" if "lr" in cfg.params.get(m, {}) else f"variants.{m}.lr"
            raise BenchError(f"lr_sweep.{m} and {where} both set the learning rate; drop one of them")
        sweeps[m] = lrs
    return sweeps


def _resolved_params(method: str, overrides: dict, key_prefix: str = "") -> dict:
    """The method's parameters with defaults filled in (and an adapter config's content, not just its path)."""
    _, params = methods.resolve(method, overrides, key_prefix)
    out = methods.params_dict(params)
    if methods.is_adapter_config(method):
        out["adapter_config_content"] = methods.read_adapter_config(method).to_dict()
    return out


def check_device_name(requested: str) -> str:
    return check_device(requested)  # resolved by the executor, where the runs execute

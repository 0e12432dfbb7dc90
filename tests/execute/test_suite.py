"""Planning a suite (bench/execute/suite.py plan): every bad setting is refused before anything runs, with a
one-line message naming it; a good suite plans tasks x methods x (rates + sweep points) x seeds runs, each its
own config hash, in the order they run."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bench.config import Budget, Measure, SuiteConfig, apply_overrides
from bench.errors import BenchError
from bench.execute.suite import plan
from tests.conftest import write_tiny_task


@pytest.fixture()
def folder(tmp_path) -> Path:
    """A tasks folder with two tiny tasks: tiny_sentiment and tiny_b."""
    write_tiny_task(tmp_path / "tasks", n=40)
    write_tiny_task(tmp_path / "tasks", n=40, name="tiny_b")
    return tmp_path / "tasks"


def cfg_of(tasks: str, *sets) -> SuiteConfig:
    return apply_overrides(SuiteConfig(device="cpu", model="minilm"), [f"tasks={tasks}", *sets])


def planned(cfg: SuiteConfig, folder: Path, **kw):
    return plan(cfg, [folder], show_progress=False, **kw)


def test_runs_are_tasks_x_methods_x_points_x_seeds_in_run_order(folder):
    cfg = cfg_of(
        "tiny_sentiment,tiny_b",
        "methods=lora,head_only,zero_shot",
        "seeds=0,1,2",
        "lr_sweep.lora=1e-3,1e-2",
        "sweep.lora=[{r: 4, alpha: 8}]",
    )
    specs = planned(cfg, folder)
    lora_runs = 2 + 1  # two rates, then one sweep point
    assert len(specs) == 2 * (lora_runs + 1 + 1) * 3
    assert len({s.config_hash for s in specs}) == len(specs)  # every run distinct, so --resume tells them apart
    assert all(len(s.config_hash) == 64 and s.device == "cpu" and s.model == "minilm" for s in specs)
    first = [(s.task, s.method, s.params.get("lr"), s.params.get("r"), s.seed) for s in specs[: (lora_runs + 2) * 3]]
    assert first == [
        *[("tiny_sentiment", "lora", 1e-3, None, seed) for seed in (0, 1, 2)],
        *[("tiny_sentiment", "lora", 1e-2, None, seed) for seed in (0, 1, 2)],
        *[("tiny_sentiment", "lora", None, 4, seed) for seed in (0, 1, 2)],
        *[("tiny_sentiment", "head_only", None, None, seed) for seed in (0, 1, 2)],
        *[("tiny_sentiment", "zero_shot", None, None, seed) for seed in (0, 1, 2)],
    ]
    assert [s.task for s in specs] == ["tiny_sentiment"] * 15 + ["tiny_b"] * 15
    lora = [s for s in specs if s.method == "lora"]
    assert all(s.lr_sweep == (1e-3, 1e-2) and s.sweep == ({"r": 4, "alpha": 8},) for s in lora)
    assert all(s.lr_sweep == () and s.sweep == () for s in specs if s.method != "lora")
    assert {s.task_version for s in specs} == {1} and len({s.task_digest for s in specs}) == 2


def test_one_task_one_method_one_seed_is_one_run(folder):
    (spec,) = planned(cfg_of("tiny_sentiment", "methods=lora", "seeds=7"), folder)
    assert (spec.task, spec.method, spec.base_method, spec.seed, spec.params) == (
        "tiny_sentiment",
        "lora",
        "lora",
        7,
        {},
    )
    assert spec.task_path.endswith("tiny_sentiment.yaml")


def test_variants_run_their_base_method_and_task_budget_applies_per_task(folder):
    cfg = replace(
        cfg_of("tiny_sentiment,tiny_b", "methods=lora_r2,lora", "task_budget.tiny_b.epochs=3"),
        variants={"lora_r2": {"method": "lora", "r": 2}},  # as a suite file gives it
    )
    specs = planned(cfg, folder)
    assert [(s.task, s.method, s.base_method, s.params) for s in specs] == [
        ("tiny_sentiment", "lora_r2", "lora", {"r": 2}),
        ("tiny_sentiment", "lora", "lora", {}),
        ("tiny_b", "lora_r2", "lora", {"r": 2}),
        ("tiny_b", "lora", "lora", {}),
    ]
    assert [s.budget.epochs for s in specs] == [cfg.budget.epochs] * 2 + [3, 3]


def test_task_budget_by_name_applies_to_a_task_given_as_a_path(folder, tmp_path):
    """A task given as its YAML file's path takes `task_budget.<its name>` (it was silently ignored)."""
    path = write_tiny_task(tmp_path / "elsewhere", n=40, name="tiny_path")
    specs = planned(cfg_of(f"tiny_sentiment,{path}", "methods=lora", "task_budget.tiny_path.epochs=7"), folder)
    assert [(s.task, s.budget.epochs) for s in specs] == [("tiny_sentiment", 1), ("tiny_path", 7)]
    alone = plan(cfg_of(str(path), "methods=lora", "task_budget.tiny_path.epochs=7"), None, show_progress=False)
    assert [(s.task, s.budget.epochs) for s in alone] == [("tiny_path", 7)]  # known from its path alone


@pytest.mark.parametrize(
    "change,message",
    [
        (dict(methods=()), r"^a suite needs at least one task, one method and one seed$"),
        (dict(seeds=()), r"^a suite needs at least one task, one method and one seed$"),
        (dict(seeds=(0, 1, 0)), r"^seeds: 0 listed more than once; each run must be distinct$"),
        (dict(methods=("lora", "lora")), r"^methods: lora listed more than once"),
        (
            dict(variants={"lora_r2": {"method": "lora", "r": 2}}),
            r"^variants defined but not listed in methods: lora_r2$",
        ),
        (
            dict(params={"full": {"lr": 1e-3}}),
            r"^params given for method\(s\) not in this suite: full; suite methods: lora$",
        ),
        (dict(task_budget={"nope": {"epochs": 2}}), r"^task_budget given for unknown task\(s\): nope; valid tasks: "),
        (dict(methods=("teleport",)), r"^unknown method 'teleport'"),
        (dict(model="nope"), r"^unknown model 'nope'; valid models: "),
        (dict(budget=Budget(batch_size=0)), r"^budget: batch_size >= 1, max_length >= 2"),
        (dict(budget=Budget(max_steps=-1)), r"^budget: batch_size >= 1"),
        (dict(measure=Measure(latency_requests=0)), r"^measure: request, repeat, batch and token counts must be >= 1"),
        (dict(measure=Measure(infer_warmup=-1)), r"^measure: .* warm-ups and validation_examples >= 0$"),
        (dict(switch="full"), r"^switch: 'full'; valid values: quick, or empty for no switching sweep$"),
        (dict(timeout_s=-1.0), r"^timeout_s: -1.0; give seconds > 0, or 0 for no timeout$"),
        (dict(timeout_s=float("nan")), r"^timeout_s: nan"),
        (dict(device="tpu"), r"^unknown device 'tpu'; valid devices: auto, cpu, cuda$"),
        (dict(sweep={"zero_shot": ({"r": 2},)}, methods=("zero_shot",)), r"^sweep.zero_shot: zero_shot does not train"),
        (dict(sweep={"lora": ({"r": 8},)}), r"^sweep.lora: two points of lora's sweep have the same parameters"),
        (dict(sweep={"full": ({"lr": 1e-3},)}), r"^sweep given for method\(s\) not in this suite: full"),
        (dict(lr_sweep={"zero_shot": (1e-3,)}, methods=("zero_shot",)), r"^lr_sweep.zero_shot: zero_shot does not"),
    ],
    ids=lambda v: v if isinstance(v, str) and not v.startswith("^") else None,
)
def test_plan_refuses_a_bad_suite_with_one_line(folder, change, message):
    cfg = replace(cfg_of("tiny_sentiment", "methods=lora"), **change)
    with pytest.raises(BenchError, match=message) as e:
        planned(cfg, folder)
    assert "\n" not in str(e.value)


def test_an_unknown_task_names_the_valid_ones():
    with pytest.raises(BenchError, match=r"unknown task 'nope'.*rotten_tomatoes"):
        plan(SuiteConfig(device="cpu", tasks=("nope",)), show_progress=False)


def test_the_device_is_resolved_once_by_the_given_resolver(folder):
    asked = []
    specs = planned(
        cfg_of("tiny_sentiment,tiny_b", "methods=lora", "seeds=0,1"),
        folder,
        device_for=lambda d: asked.append(d) or "cuda",
    )
    assert asked == ["cpu"] and {s.device for s in specs} == {"cuda"} and len(specs) == 4

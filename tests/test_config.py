from __future__ import annotations

import typing

import pytest

from bench.config import Budget, SuiteConfig, apply_overrides, coerce, list_suites, load_suite, parse_set
from bench.errors import BenchError


def test_precedence_defaults_yaml_cli(tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text("model: minilm\nbudget: {batch_size: 8, max_length: 32}\nparams: {lora: {r: 4}}\n")
    cfg = load_suite(str(suite))
    assert cfg.budget.batch_size == 8 and cfg.budget.max_length == 32  # YAML over defaults
    assert cfg.budget.epochs == Budget().epochs  # default kept
    cfg = apply_overrides(cfg, ["budget.batch_size=16", "params.lora.alpha=32", "seeds=0,1,2"])
    assert cfg.budget.batch_size == 16 and cfg.budget.max_length == 32  # CLI over YAML
    assert cfg.params == {"lora": {"r": 4, "alpha": "32"}}  # method params are typed when the method resolves
    assert cfg.seeds == (0, 1, 2)
    assert cfg.name == "s"


@pytest.mark.parametrize(
    "value,tp,expected",
    [
        ("3", int, 3),
        ("3e-3", float, 0.003),
        (2, float, 2.0),
        ("true", bool, True),
        ("off", bool, False),
        ("a,b", tuple[str, ...], ("a", "b")),
        ("[q_proj, v_proj]", tuple[str, ...], ("q_proj", "v_proj")),  # a list as YAML writes it
        ("['q_proj', \"v_proj\"]", tuple[str, ...], ("q_proj", "v_proj")),
        ("[]", tuple[str, ...], ()),
        ([1, 2], tuple[int, ...], (1, 2)),
    ],
)
def test_coerce(value, tp, expected):
    assert coerce(value, tp, "k") == expected


@pytest.mark.parametrize("value,tp", [("x", int), ("1.5", int), (True, int), ("maybe", bool), ("x", float), ([1], str)])
def test_coerce_rejects(value, tp):
    with pytest.raises(BenchError, match="^k: expected"):
        coerce(value, tp, "k")


def test_coerce_choice_names_the_valid_values():
    assert coerce("bf16", typing.Literal["fp32", "bf16"], "k") == "bf16"
    with pytest.raises(BenchError, match="^k: unknown value 'fp16'; valid values: bf16, fp32$"):
        coerce("fp16", typing.Literal["fp32", "bf16"], "k")
    with pytest.raises(BenchError, match="budget.precision: unknown value 'half'; valid values: bf16, fp32"):
        apply_overrides(SuiteConfig(), ["budget.precision=half"])


@pytest.mark.parametrize("item", ["noequals", "=3", "a..b=1"])
def test_parse_set_rejects(item):
    with pytest.raises(BenchError):
        parse_set(item)


def test_unknown_keys_name_valid_choices():
    with pytest.raises(BenchError, match="unknown key 'budget.bsz'; valid keys: .*budget.batch_size"):
        apply_overrides(SuiteConfig(), ["budget.bsz=3"])
    with pytest.raises(BenchError, match="unknown key 'colour'"):
        apply_overrides(SuiteConfig(), ["colour=red"])
    with pytest.raises(BenchError, match="params.<name>.<key>=value"):
        apply_overrides(SuiteConfig(), ["params.lora=3"])


def test_yaml_types_checked(tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text("budget: {batch_size: many}\n")
    with pytest.raises(BenchError, match="budget.batch_size: expected an integer"):
        load_suite(str(suite))
    suite.write_text("- just\n- a list\n")
    with pytest.raises(BenchError, match="expected a mapping"):
        load_suite(str(suite))


def test_every_shipped_suite_loads_and_plans():
    from bench.execute.suite import plan

    suites = list_suites()
    assert {"quick", "smoke"} <= set(suites)
    for name in suites:
        cfg = load_suite(name)
        specs = plan(apply_overrides(cfg, ["device=cpu"]), show_progress=False)
        # a swept method: one run per rate (or its own setting), and one per `sweep` point
        points = sum((len(cfg.lr_sweep.get(m, ())) or 1) + len(cfg.sweep.get(m, ())) for m in cfg.methods)
        assert len(specs) == len(cfg.tasks) * points * len(cfg.seeds)
    assert len(plan(apply_overrides(load_suite("llm"), ["device=cpu"]), show_progress=False)) == 2 * (1 + 2 + 2 + 1 + 1)


def test_method_variants_plan_one_method_under_several_settings(tmp_path):
    from bench.execute.suite import plan

    suite = tmp_path / "ranks.yaml"
    suite.write_text(
        "methods: [lora_r1, lora_r4, full]\nvariants:\n  lora_r1: {method: lora, r: 1}\n"
        "  lora_r4: {method: lora, r: 4}\nparams: {lora_r4: {lr: 0.01}}\n"
    )
    specs = plan(apply_overrides(load_suite(str(suite)), ["device=cpu"]), show_progress=False)
    by = {s.method: s for s in specs}
    assert by["lora_r1"].base_method == "lora" and by["lora_r1"].params == {"r": 1}
    assert by["lora_r4"].params == {"r": 4, "lr": 0.01}  # params.<variant> override the variant's settings
    assert by["full"].base_method == "full"
    assert len({s.config_hash for s in specs}) == 3
    bad = tmp_path / "bad.yaml"
    bad.write_text("methods: [x]\nvariants:\n  x: {method: nope, r: 1}\n")
    with pytest.raises(BenchError, match="variants.x: `method` must name a method"):
        plan(apply_overrides(load_suite(str(bad)), ["device=cpu"]), show_progress=False)
    bad.write_text("methods: [lora]\nvariants:\n  x: {method: lora}\n")
    with pytest.raises(BenchError, match="variants defined but not listed in methods: x"):
        plan(apply_overrides(load_suite(str(bad)), ["device=cpu"]), show_progress=False)
    bad.write_text("methods: [x]\nvariants:\n  x: {method: lora, rank: 3}\n")
    with pytest.raises(BenchError, match="unknown key 'variants.x.rank'"):
        plan(apply_overrides(load_suite(str(bad)), ["device=cpu"]), show_progress=False)


def test_a_method_list_parameter_set_as_a_yaml_list():
    from bench.catalog import methods

    _, params = methods.resolve("lora", {"target_modules": "[q_proj, v_proj]"})
    assert params.target_modules == ("q_proj", "v_proj")

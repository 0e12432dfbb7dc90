"""One options model for run, switch and serve (bench/options.py, bench/overrides.py, bench/cli/options.py):
the same model options, one device choice, the same `--set` with the same coercion and errors, the command
flags as aliases of `--set` keys, and a suite's `switch:` and `serve:` sections read by the suite's loader."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from bench.cli import build_parser, main
from bench.config import SuiteConfig, apply_overrides, load_suite, serve_of, switch_of, validate_suite
from bench.errors import BenchError
from bench.options import DEVICES, QUICK, ModelOptions, ServeConfig, SweepConfig, sweep_record

RESULTS = Path(__file__).resolve().parent.parent / "results"


def _parse(command: str, *argv: str):
    return build_parser(only=command).parse_args([command, *argv])


def test_every_command_takes_the_one_device_choice():
    for command in ("run", "switch", "serve"):
        sub = build_parser(only=command)._subparsers._group_actions[0].choices[command]
        (device,) = [a for a in sub._actions if a.dest == "device"]
        assert tuple(device.choices) == DEVICES, command


@pytest.mark.parametrize("command", ["switch", "serve"])
def test_a_flag_is_an_alias_of_its_set_key(command):
    from bench.cli.serve import config_from_args as serve_config
    from bench.cli.switch import config_from_args as switch_config

    config = {"switch": switch_config, "serve": serve_config}[command]
    shape = ["--model", "shape:llama-3.2-1b"]
    by_flag = config(_parse(command, *shape, "--layers", "1", "--dtype", "bf16", "--tasks-n", "2,3"))
    by_set = config(
        _parse(command, *shape, "--set", "model.layers=1", "--set", "model.dtype=bf16", "--set", "tasks_n=2,3")
    )
    assert by_flag == by_set
    assert by_flag.model == ModelOptions("shape:llama-3.2-1b", layers=1, dtype="bf16") and by_flag.tasks_n == (2, 3)


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--requests", "x"], "--requests: expected an integer, got 'x'"),  # the flag the user typed
        (["--set", "requests=x"], "requests: expected an integer, got 'x'"),
        (["--batch-sizes", "1,x"], "--batch-sizes: expected comma-separated integers, got '1,x'"),
        (
            ["--set", "model.colour=red"],
            "unknown key 'model.colour'; valid keys: model.dtype, model.layers, model.name",
        ),
        (["--layers", "2"], "model.layers and model.dtype apply to shape-only models (shape:<name>), not 'minilm'"),
        (["--set", "tasks_n=70000"], "--tasks-n: at most 65536 tasks (adapters) in one fleet"),
    ],
)
def test_switch_set_errors_are_one_line_as_run_and_serve_give_them(argv, message, capsys, tmp_path):
    assert main(["switch", *argv, "--output", str(tmp_path / "o.jsonl")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not (tmp_path / "o.jsonl").exists()


# the sweep's settings as switch rows recorded them before the model became ModelOptions
SWEEP_RECORD = (
    "name", "model", "tasks_n", "batch_sizes", "popularities", "orders", "lengths", "strategies", "requests",
    "repeats", "rank", "virtual_tokens", "device", "seed", "adapters_from", "layers", "dtype",
)  # fmt: skip


def test_the_settings_rows_record_read_as_before():
    """Switch rows record the sweep with the model flat (model, layers, dtype), as before the model became
    ModelOptions; serve rows record ServeConfig as the committed rows do: old and new rows read alike."""
    record = sweep_record(dataclasses.replace(QUICK, model=ModelOptions("shape:x", layers=2, dtype="bf16")))
    assert tuple(record) == SWEEP_RECORD
    assert (record["model"], record["layers"], record["dtype"], record["name"]) == (
        "shape:x",
        2,
        "bf16",
        "switch-quick",
    )
    committed = [
        json.loads(line)["serve"]
        for line in (RESULTS / "serving" / "serve-cpu-p99.jsonl").read_text().splitlines()
        if '"kind": "serve"' in line
    ]
    added = ["adapters_from", "adapters_tasks"]  # options added since: new rows record them after the rest
    assert committed and all(list(dataclasses.asdict(ServeConfig())) == list(c) + added for c in committed)
    assert all(list(dataclasses.asdict(ServeConfig().profile)) == list(c["profile"]) for c in committed)


def test_a_suite_carries_its_switch_and_serve_sections(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text(
        "model: minilm\ndevice: cpu\nswitch: {tasks_n: [1, 2], requests: 8, strategies: [base, gathered_lora]}\n"
        "serve: {tasks_n: [4], ranks: [8], profile: {repeats: 1}}\n"
    )
    cfg = validate_suite(load_suite(str(path)))
    assert cfg.switch == dataclasses.replace(
        SweepConfig(), tasks_n=(1, 2), requests=8, strategies=("base", "gathered_lora")
    )
    assert cfg.serve.tasks_n == (4,) and cfg.serve.ranks == (8,) and cfg.serve.profile.repeats == 1
    sweep, serve = switch_of(cfg, tmp_path / "rows.jsonl"), serve_of(cfg)
    assert sweep.model == serve.model == ModelOptions("minilm") and sweep.device == serve.device == "cpu"
    assert sweep.adapters_from == str(tmp_path / "rows.jsonl")  # the suite's kept adapters
    assert apply_overrides(cfg, ["switch.requests=16"]).switch.requests == 16
    assert apply_overrides(cfg, ["switch=", "serve="]).switch is None
    assert apply_overrides(cfg, ["switch=quick"]).switch == QUICK


def test_switch_quick_still_names_the_quick_sweep():
    assert load_suite("quick").switch == QUICK and SuiteConfig(switch="quick").switch == QUICK
    assert SuiteConfig().switch is None and SuiteConfig().serve is None


@pytest.mark.parametrize(
    "sets,message",
    [
        (["switch=slow"], r"^switch: 'slow'; valid values: quick, or empty for no switching sweep$"),
        (["serve=quick"], r"^serve: 'quick'; give a mapping of serve options, or empty for none$"),
        (["switch.model=x"], r"^switch.model: a suite's switch section runs on the suite's model"),
        (["serve.device=cpu"], r"^serve.device: a suite's serve section runs on the suite's device"),
        (["switch.lengths=huge"], r"^unknown length 'huge'; valid: long, short$"),
        (["serve.slo_factor=0"], r"^the SLO must be more than 0 ms"),
        (
            ["serve.colour=red"],
            r"^unknown key 'serve.colour'; valid keys: serve.adapters_from, serve.adapters_tasks, serve.alpha, ",
        ),
    ],
)
def test_a_bad_section_is_refused_in_one_line(sets, message):
    with pytest.raises(BenchError, match=message) as e:
        validate_suite(apply_overrides(load_suite("quick"), sets))
    assert "\n" not in str(e.value)


def test_config_classes_take_a_model_name_as_yaml_does():
    assert SweepConfig(model="minilm").model == ServeConfig(model="minilm").model == ModelOptions("minilm")

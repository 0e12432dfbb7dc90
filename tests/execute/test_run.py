"""One run (bench/execute/run.py execute): on a tiny task it returns an `ok` row holding the declared fields of
their declared types; a method the model cannot take is an `unsupported` row, bad input a `failed` one, and
nothing raises. base_row and train_metrics as pure functions."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from bench.config import Budget, Measure
from bench.execute.run import RunSpec, base_row, execute
from bench.measure.train import train_metrics
from bench.rows.fields import RUN_FIELDS, undeclared
from tests.conftest import write_tiny_task

MEASURE = Measure(latency_requests=2, infer_repeats=1, infer_batch_size=4, bootstrap_samples=50)


def spec_of(task, model, method="lora", **kw) -> RunSpec:
    return RunSpec(
        suite="t",
        task="tiny_sentiment",
        task_path=str(task),
        model=str(model),
        method=method,
        seed=kw.pop("seed", 0),
        device="cpu",
        budget=kw.pop("budget", Budget(max_steps=2, batch_size=8)),
        measure=MEASURE,
        show_progress=False,
        **kw,
    )


def as_stored(row: dict) -> dict:
    return json.loads(json.dumps(row, allow_nan=False))  # rows are plain JSON


@pytest.fixture()
def task(tmp_path):
    return write_tiny_task(tmp_path / "tasks", n=60)


def test_an_ok_row_holds_the_declared_fields(task, tiny_bert_dir):
    row = as_stored(execute(spec_of(task, tiny_bert_dir, params={"r": 2}, config_hash="h" * 64)))
    assert row["status"] == "ok" and row["error"] is None, row["error"]
    assert undeclared(row) == []  # only declared fields, of their declared types, the required ones all there
    assert {k for k, f in RUN_FIELDS.items() if f.required} <= set(row)
    assert row["config_hash"] == "h" * 64 and row["task_version"] == 1 and row["task_digest"]
    assert row["method_params"]["r"] == 2 and row["method_params"]["lr"] > 0  # every parameter, resolved
    assert row["model_kind"] == "encoder" and row["train_steps"] == 2 and len(row["loss_curve"]) == 2
    assert row["model_revision"] is None and row["data_revision"] is None  # a local folder, a local data file
    assert 0 < row["trainable_params"] < row["total_params"] and row["adapter_bytes"] > 0
    assert row["n_eval"] == len(row["test_correct"]) == sum(row["label_counts"]) == sum(row["pred_counts"])
    assert row["accuracy"] == pytest.approx(row["test_correct"].count("1") / row["n_eval"]) == row["score"]
    assert row["accuracy_ci_low"] <= row["accuracy"] <= row["accuracy_ci_high"]
    assert row["val_accuracy"] is not None and row["n_val"] > 0
    assert row["wall_s"] > 0 and "adapter_path" not in row  # no adapters folder: measured, then discarded


def test_same_spec_same_result(task, tiny_bert_dir):
    a, b = (execute(spec_of(task, tiny_bert_dir, seed=1)) for _ in range(2))
    assert a["loss_curve"] == b["loss_curve"] and a["test_correct"] == b["test_correct"]
    assert a["run_id"] != b["run_id"]


def test_a_kept_adapter_lies_under_the_runs_id(task, tiny_bert_dir, tmp_path):
    row = execute(spec_of(task, tiny_bert_dir, adapters_dir=str(tmp_path / "adapters")))
    assert row["status"] == "ok", row["error"]
    assert row["adapter_path"] == str(tmp_path / "adapters" / row["run_id"])
    assert (tmp_path / "adapters" / row["run_id"] / "adapter_model.safetensors").is_file()


def test_a_method_the_model_cannot_take_is_an_unsupported_row(task, tiny_llama_dir):
    row = as_stored(execute(spec_of(task, tiny_llama_dir, "head_only")))
    assert row["status"] == "unsupported" and "causal" in row["error"]
    assert undeclared(row) == [] and "accuracy" not in row and row["wall_s"] >= 0


def test_bad_input_is_a_failed_row_not_an_exception(task, tiny_bert_dir, tmp_path):
    missing = execute(spec_of(tmp_path / "nope.yaml", tiny_bert_dir))
    assert (
        missing["status"] == "failed" and missing["error"].startswith("unknown task ") and "\n" not in missing["error"]
    )
    bad_param = execute(spec_of(task, tiny_bert_dir, params={"r": "many"}))
    assert bad_param["status"] == "failed" and bad_param["error"] == "params.lora.r: expected an integer, got 'many'"
    assert undeclared(as_stored(missing)) == [] and undeclared(as_stored(bad_param)) == []


def test_base_row_carries_the_runs_identity_and_its_sweep_only_when_swept(task):
    spec = spec_of(task, "m", method="lora_r2", base_method="lora", params={"r": 2}, lr_sweep=(1e-3, 1e-2))
    row = base_row(spec)
    assert (row["method"], row["base_method"], row["method_params"], row["lr_sweep"]) == (
        "lora_r2",
        "lora",
        {"r": 2},
        [1e-3, 1e-2],
    )
    assert row["status"] == "failed" and row["error"] is None  # until the run says otherwise
    plain = base_row(spec_of(task, "m"))
    assert plain["base_method"] == "lora" and "lr_sweep" not in plain and "sweep" not in plain
    assert base_row(spec_of(task, "m", sweep=({"r": 4},)))["sweep"] == [{"r": 4}]


def test_train_metrics_time_only_the_timed_steps():
    stats = SimpleNamespace(
        steps=4,
        wall_s=1.23456,
        real_tokens=400,
        losses=[0.9, 0.7, 0.5123456, 0.4],
        step_ms=[100.0, 300.0],  # two timed steps (warm-up excluded): 0.4 s
        timed_real_tokens=200,
        timed_effective_tokens=260,
    )
    m = train_metrics(stats)
    assert m["train_tokens_per_s"] == pytest.approx(500.0) and m["train_tokens_per_s_effective"] == pytest.approx(650.0)
    assert (m["loss_first"], m["loss_last"], m["loss_curve"][2]) == (0.9, 0.4, 0.51235)
    assert m["train_step_ms_p50"] == pytest.approx(200.0) and m["train_wall_s"] == 1.235
    empty = train_metrics(SimpleNamespace(**{**vars(stats), "step_ms": [], "losses": []}))
    assert empty["train_tokens_per_s"] is None and empty["loss_first"] is None

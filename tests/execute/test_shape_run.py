"""Runs on shape-only models (bench/execute/shape_run.py): `bench run --model shape:NAME` trains on random tokens with
the same loop as a pretrained model's run and writes a speed-only row (weights random, the layers and dtype it ran
at, no accuracy field); model.layers and model.dtype are part of such a run's config hash and of no other; bad
options are refused before anything runs, with one line; the terminal and the report show such rows apart."""

from __future__ import annotations

import dataclasses
import json

import pytest

from bench.cli import main
from bench.config import SuiteConfig, apply_overrides, load_suite
from bench.errors import BenchError
from bench.execute.identity import RUN_FIELDS, config_hash, match_key, planned_fields, run_hashes
from bench.execute.shape_run import synthetic_sets, train_count
from bench.execute.suite import plan
from bench.render.html import write_report
from bench.rows.fields import undeclared
from tests.conftest import write_tiny_generation_task

FAST = [
    "--max-steps",
    "4",
    "--set",
    "budget.batch_size=4",
    "--set",
    "budget.max_length=12",
    "--set",
    "measure.train_warmup_steps=1",
    "--set",
    "measure.latency_requests=3",
    "--set",
    "measure.infer_repeats=2",
    "--set",
    "measure.infer_batch_size=4",
    "--set",
    "switch=",
    "--no-progress",
    "--no-isolate",  # the tiny shape exists in this process only
]
SCORED = ("accuracy", "accuracy_ci_low", "score", "val_accuracy", "macro_f1", "n_eval", "test_correct", "metric")


def run_rows(tmp_path, *args) -> list[dict]:
    out = tmp_path / "rows.jsonl"
    assert main(["run", *map(str, args), "--output", str(out), *FAST]) == 0
    return [json.loads(line) for line in out.read_text().splitlines()]


def cfg_of(task, model: str, *sets) -> SuiteConfig:
    return apply_overrides(SuiteConfig(device="cpu"), [f"tasks={task}", f"model={model}", *sets])


def test_a_shape_run_measures_speed_and_never_accuracy(tiny_shape, tiny_task, tmp_path, capsys):
    rows = run_rows(tmp_path, "--model", tiny_shape, "--tasks", tiny_task, "--methods", "lora,prompt_tuning", "--set",
                    "model.layers=2", "--set", "params.prompt_tuning.num_virtual_tokens=4")  # fmt: skip
    assert [r["method"] for r in rows] == ["lora", "prompt_tuning"]
    for r in rows:
        assert r["status"] == "ok", r["error"]
        assert undeclared(r) == []
        assert (r["weights"], r["layers"], r["dtype"], r["model_kind"]) == ("random", 2, "fp32", "causal")
        assert not set(SCORED) & set(r), sorted(set(SCORED) & set(r))
        assert r["train_steps"] == 4 and r["train_tokens_per_s"] > 0 and r["train_step_ms_p50"] > 0
        assert r["train_tokens"] == 4 * 4 * 12  # every sequence is budget.max_length tokens: no padding
        assert r["infer_latency_ms_p50"] > 0 and r["peak_mem_bytes"] > 0 and r["adapter_bytes"] > 0
        assert 0 < r["trainable_params"] < r["total_params"]
        assert r["config_hash"] == run_hashes({k: r.get(k) for k in RUN_FIELDS})[0]  # rebuilt from the row
    assert rows[1]["method_params"]["init"] == "random" and rows[1]["virtual_tokens"] == 4  # no tokenizer to init from
    assert rows[1]["infer_extra_tokens_per_request"] == 4
    printed = capsys.readouterr().out
    assert "speed at model shapes" in printed and "shape:tiny, 2 layers, fp32" in printed
    assert "accuracy (95% CI)" not in printed  # no accuracy table of speed-only runs

    html = write_report(rows, tmp_path / "report.html").read_text()
    speed = html[html.index('<section id="speed">') : html.index("</section>", html.index('<section id="speed">'))]
    assert 'data-method="lora"' in speed and 'data-method="prompt_tuning"' in speed
    assert '<section id="table">' not in html  # no accuracy table holds them (none is drawn empty)
    assert "Only runs on random weights" in html


def test_generation_tasks_and_bf16_weights(tiny_shape, tmp_path):
    task = write_tiny_generation_task(tmp_path / "tasks")
    gen = ["--set", "measure.gen_new_tokens=3", "--set", "measure.gen_requests=2", "--set", "measure.gen_repeats=1"]
    rows = run_rows(
        tmp_path, "--model", tiny_shape, "--tasks", task, "--methods", "lora", "--set", "model.dtype=bf16", *gen
    )
    (r,) = rows
    assert r["status"] == "ok", r["error"]
    assert (r["layers"], r["dtype"]) == (3, "bf16")  # model.layers=0: the shape's whole depth
    assert r["gen_tokens_per_s"] > 0 and r["gen_ttft_ms_p50"] > 0 and undeclared(r) == []
    assert not set(SCORED) & set(r)


def test_synthetic_data_is_seeded_full_length_and_labelled_as_the_task_is(tiny_task, tmp_path):
    from bench.catalog.tasks import load_task
    from bench.config import Budget, Measure

    budget, measure = Budget(batch_size=4, max_length=10, train_examples=9), Measure(infer_batch_size=5)
    a = synthetic_sets(load_task(str(tiny_task)), budget, measure, seed=1, vocab=50, pad_id=0)
    b = synthetic_sets(load_task(str(tiny_task)), budget, measure, seed=1, vocab=50, pad_id=0)
    c = synthetic_sets(load_task(str(tiny_task)), budget, measure, seed=2, vocab=50, pad_id=0)
    assert a["train"].ids == b["train"].ids and a["train"].ids != c["train"].ids
    assert len(a["train"].ids) == 9 and {len(x) for x in a["train"].ids} == {10}
    assert set(a["train"].labels) == {0, 1} and max(max(x) for x in a["train"].ids) < 50
    assert len(a["test"].ids) == max(5, measure.latency_warmup + measure.latency_requests)
    gen = synthetic_sets(load_task(str(write_tiny_generation_task(tmp_path / "g"))), budget, measure, 1, 50, 0)
    labels = gen["train"].labels[0]
    assert labels[:7] == [-100] * 7 and labels[7:] == gen["train"].ids[0][7:]  # the answer: max_new_tokens=3
    assert {len(x) for x in gen["test"].ids} == {7}  # prompts leave room for the answer


def test_training_examples_come_from_the_budget_or_the_tasks_size(tiny_task):
    from bench.catalog.tasks import load_task
    from bench.config import Budget

    task = load_task(str(tiny_task))  # size 240, train share 0.6
    assert train_count(task, Budget(train_examples=7)) == 7
    assert train_count(task, Budget()) == 144
    unsized = dataclasses.replace(task, size=0)
    assert train_count(unsized, Budget(max_steps=3, batch_size=4)) == 12
    with pytest.raises(BenchError, match="declares no size.*--max-steps"):
        train_count(unsized, Budget())


def test_layers_and_dtype_identify_a_shape_run_and_no_other(tiny_shape, tiny_task):
    def hashes(model, *sets):
        return [s.config_hash for s in plan(cfg_of(tiny_task, model, "methods=lora", *sets), show_progress=False)]

    two, three, all_ = hashes(tiny_shape, "model.layers=2"), hashes(tiny_shape, "model.layers=3"), hashes(tiny_shape)
    assert two != three and three == all_  # layers=0 keeps all 3: the same model, the same run
    assert hashes(tiny_shape, "model.dtype=bf16") != all_
    assert hashes("shape:llama-3.2-1b", "model.layers=3") != hashes(tiny_shape, "model.layers=3")
    (spec,) = plan(cfg_of(tiny_task, tiny_shape, "methods=lora", "model.layers=2"), show_progress=False)
    assert (spec.layers, spec.dtype) == (2, "fp32")
    minilm = plan(cfg_of(tiny_task, "minilm", "methods=lora"), show_progress=False)[0]
    fields = planned_fields(minilm, {"lr": 1.0})
    assert "layers" not in fields and "dtype" not in fields  # a pretrained model's hash is as before
    assert config_hash({**fields, "layers": 5, "dtype": "bf16"}) == config_hash(fields)
    row = {"kind": "run", "task": "t", "model": tiny_shape, "method": "lora", "layers": 2, "dtype": "fp32"}
    assert match_key(row) != match_key({**row, "layers": 3})  # compare never pairs different depths
    assert match_key({**row, "model": "minilm"}) == match_key({**row, "model": "minilm", "layers": 3})


def test_suite_files_take_the_model_by_name_or_with_its_options(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("model: {name: 'shape:qwen2.5-0.5b', layers: 2, dtype: bf16}\n")
    m = load_suite(str(path)).model
    assert (m.name, m.layers, m.dtype) == ("shape:qwen2.5-0.5b", 2, "bf16")
    assert apply_overrides(load_suite(str(path)), ["model=minilm"]).model.name == "minilm"
    assert SuiteConfig(model="minilm").model.name == "minilm" and load_suite("quick").model.name == "minilm"


@pytest.mark.parametrize(
    "args,message",
    [
        (["--model", "shape:llama-9"], "unknown shape 'llama-9'; valid shapes:"),
        (["--set", "model.layers=4"], "model.layers=4: shape 'tiny' has only 3 layers"),
        (["--set", "model.layers=-1"], "model.layers must be 0 (all) or a positive number"),
        (["--set", "model.dtype=int3"], "unknown model.dtype 'int3'; valid dtypes: bf16, fp16, fp32"),
        (["--set", "model.layers=x"], "model.layers: expected an integer"),
        (["--model", "minilm", "--set", "model.layers=2"], "apply to shape-only models (shape:<name>), not 'minilm'"),
        (["--set", "params.prompt_tuning.init=text"], "init 'text' needs a tokenizer"),
    ],
)
def test_bad_shape_options_exit_2_with_one_line(tiny_shape, tiny_task, tmp_path, capsys, args, message):
    base = ["run", "--model", tiny_shape, "--tasks", str(tiny_task), "--methods", "lora,prompt_tuning"]
    assert main([*base, *args, "--output", str(tmp_path / "rows.jsonl"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "rows.jsonl").exists()  # refused before anything ran

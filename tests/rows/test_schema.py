"""The row schema: the metric table is consistent, freshly built rows hold only declared fields of the declared
types, every new row records its provenance, and readers take their metrics from the table."""

from __future__ import annotations

import json

import pytest

import bench
from bench.analysis import compare
from bench.config import Budget, Measure
from bench.execute.executors import cancelled_row, timeout_row
from bench.execute.run import RunSpec, execute
from bench.render import html, terminal
from bench.rows import schema
from bench.rows.fields import FIELDS, PROVENANCE, RUN_FIELDS, SWITCH_FIELDS, Field, stamp, undeclared
from bench.rows.metric import VERDICTS, Metric
from tests.conftest import write_tiny_generation_task, write_tiny_task

MEASURE = Measure(
    latency_requests=2, infer_repeats=1, infer_batch_size=4, gen_new_tokens=2, gen_requests=2, gen_repeats=1
)


def _spec(task, model, method, **kw) -> RunSpec:
    return RunSpec(
        suite="t",
        task=task.stem,
        task_path=str(task),
        model=str(model),
        method=method,
        seed=0,
        device="cpu",
        budget=kw.pop("budget", Budget(max_steps=2, batch_size=8)),
        measure=MEASURE,
        show_progress=False,
        **kw,
    )


def _stored(row: dict) -> dict:
    return json.loads(json.dumps(row, allow_nan=False))  # as the store writes and reads it


# ----------------------------------------------------------------------------- the metric table


def test_every_metric_is_a_declared_field_and_its_samples_too():
    names = [m.name for m in schema.METRICS]
    assert len(names) == len(set(names))
    for m in schema.METRICS:
        fields = FIELDS[m.kind]  # a switch or serve row's metric is declared as a field of that kind of row
        assert m.name in fields, f"{m.name} is no field of {m.kind} rows"
        if m.kind == "run":
            assert RUN_FIELDS[m.name].metric and RUN_FIELDS[m.name].description == m.description
        assert m.unit and m.description and m.category in ("accuracy", "params", "timing", "memory", "workload")
        if m.samples:
            assert m.samples in fields and not fields[m.samples].metric
            assert fields[m.samples].type == "list"
    assert not [f for f in RUN_FIELDS.values() if f.metric and f.name not in schema.BY_NAME]


def test_the_tables_metrics_are_ranked_and_compared_ones_count_in_their_category():
    for m in schema.metrics(lambda m: m.table or m.generation or m.history):
        assert m.direction in ("higher", "lower"), m.name
    for m in schema.metrics("verdict"):
        assert m.category in ("params", "accuracy", "timing", "memory"), m.name
    assert {m.name for m in schema.metrics("samples")} == {m.name for m in schema.metrics(verdict="timing")}
    for m in schema.metrics(verdict="timing"):  # compare reads more milliseconds as slower
        assert m.unit == "ms" and m.direction == "lower", m.name
    assert schema.direction("accuracy") == "higher" and schema.direction("peak_mem_bytes") == "lower"
    assert schema.direction("gen_batch_size") is None and schema.direction("no_such_field") is None
    with pytest.raises(ValueError, match="needs raw samples"):
        Metric("x_ms_p50", "lower", "ms", "timing", "a timing", verdict="timing")
    with pytest.raises(ValueError, match="direction"):
        Metric("x", "up", "ms", "timing", "bad direction")


def test_readers_take_their_columns_from_the_table():
    row = {
        "kind": "run",
        "schema_version": schema.SCHEMA_VERSION,
        "task": "t",
        "method": "m",
        "status": "ok",
        "accuracy": 0.5,
        "accuracy_ci_low": 0.4,
        "accuracy_ci_high": 0.6,
        **{m.name: 1 for m in schema.METRICS if m.name != "accuracy"},
    }
    header = terminal.summary_table([row]).splitlines()[0].split("  ")
    assert [h.strip() for h in header if h.strip()][3:] == [m.terminal for m in schema.metrics("terminal")]
    ctx = html.context([row])
    assert [c["header"] for c in ctx["columns"]] == [m.header for m in schema.metrics("table")]
    assert [c["metric"] for c in ctx["generation"]["rows"][0]["cells"]] == [
        m.name for m in schema.metrics("generation")
    ]


def test_compare_judges_exactly_the_metrics_the_table_gives_a_verdict():
    samples = {m.samples: [1.0, 1.1, 0.9, 1.05, 0.95, 1.02, 0.98, 1.01] for m in schema.metrics("samples")}  # U test
    row = {
        "kind": "run",
        "schema_version": 1,
        "status": "ok",
        "metric": "rougeL",
        **{m.name: 1.0 for m in schema.METRICS},
        "accuracy_ci_low": 0.9,
        "accuracy_ci_high": 1.1,
        "score_ci_low": 0.9,
        "score_ci_high": 1.1,
        **samples,
    }
    verdicts = compare.compare_rows(row, dict(row), factor=1.25)
    assert [v.metric for v in verdicts if v.metric in schema.BY_NAME] == [
        m.name for kind in VERDICTS for m in schema.metrics(verdict=kind)
    ]
    assert all(v.mark == compare.NOISE for v in verdicts)
    assert {v.category for v in verdicts} <= {"params", "accuracy", "timing", "memory"}
    # a task scored by accuracy itself: `score` repeats it and is not judged twice
    assert "score" not in [v.metric for v in compare.compare_rows({**row, "metric": "accuracy"}, row, 1.25)]


# ----------------------------------------------------------------------------- fields


def test_undeclared_names_unknown_fields_wrong_types_and_missing_required_ones():
    row = {**{k: None for k, f in RUN_FIELDS.items() if f.required}, **stamp("run")}
    row.update(config_hash="h", suite="s", task="t", task_version=1, task_digest="d", model="m", method="m")
    row.update(base_method="m", seed=0, budget={}, measure={}, method_params={}, status="ok")
    assert undeclared(row) == []
    assert undeclared({**row, "accuracy": "0.5"}) == ["accuracy: str is not float|null"]
    assert undeclared({**row, "seed": True}) == ["seed: bool is not int"]  # a bool is no int
    assert undeclared({**row, "new_metric": 1.0}) == ["new_metric: not a declared field"]
    del row["task_digest"]
    assert undeclared(row) == ["task_digest: required, missing"]
    assert undeclared({"kind": "mystery"}) == ["kind 'mystery' is not one of run, switch, serve"]
    with pytest.raises(ValueError, match="unknown type 'number'"):
        Field("x", "number", False, "a number")


def test_stamp_records_provenance_and_the_package_version():
    a, b = stamp("run"), stamp("switch", "cpu")
    assert list(a) == list(PROVENANCE) and a["bench_version"] == bench.__version__
    assert a["kind"] == "run" and b["kind"] == "switch" and a["run_id"] != b["run_id"]
    assert a["schema_version"] == schema.SCHEMA_VERSION and a["machine_class"].startswith("cpu-")
    with pytest.raises(ValueError, match="valid: run, switch"):
        stamp("walk")


def test_fresh_run_rows_hold_only_declared_fields_of_declared_types(tmp_path, tiny_bert_dir, tiny_llama_dir):
    task = write_tiny_task(tmp_path / "tasks", n=60)
    gen = write_tiny_generation_task(tmp_path / "tasks", n=40)
    gen.write_text(gen.read_text().replace("metric: exact_match", "metric: rougeL"))  # a score with its own CI
    specs = [
        _spec(task, tiny_bert_dir, "lora", adapters_dir=str(tmp_path / "adapters"), lr_sweep=(1e-3, 2e-3)),
        _spec(task, tiny_bert_dir, "lora", sweep=({"r": 4},)),
        _spec(task, tiny_llama_dir, "prompt_tuning"),
        _spec(gen, tiny_llama_dir, "full"),  # update_spectrum, generation metrics
        _spec(gen, tiny_bert_dir, "lora"),  # unsupported: a generation task on an encoder
    ]
    rows = [_stored(execute(s)) for s in specs]
    assert [r["status"] for r in rows] == ["ok", "ok", "ok", "ok", "unsupported"], [r["error"] for r in rows]
    rows += [_stored(cancelled_row(specs[0])), _stored(timeout_row(specs[0], 1.0))]
    for row in rows:
        assert undeclared(row) == [], (row["method"], row["status"])
        assert row["bench_version"] == bench.__version__
    seen = set().union(*rows)
    for name in ("adapter_path", "lr_sweep", "sweep", "update_spectrum", "score_ci_low", "label_counts", "samples"):
        assert name in seen, name  # the rows above reach the optional fields too
    assert {m.name for m in schema.METRICS if m.kind == "run"} <= seen


def test_fresh_switch_rows_hold_only_declared_fields_of_declared_types(tmp_path, tiny_bert_dir, monkeypatch):
    from bench.errors import Unsupported
    from bench.options import SweepConfig
    from bench.switching import sweep

    class Refuses:
        def __init__(self, fleet):
            pass

        def prepare(self):
            raise Unsupported("not here")

    monkeypatch.setitem(sweep.SERVERS, "hotswap", Refuses)
    cfg = SweepConfig(
        model=str(tiny_bert_dir),
        tasks_n=(2,),
        batch_sizes=(4,),
        popularities=("uniform",),
        orders=("shuffled",),
        lengths=("short",),
        strategies=("base", "merge_swap", "set_adapter", "hotswap", "mixed_prompt_batch"),
        requests=8,
        repeats=1,
        rank=2,
        virtual_tokens=2,
        device="cpu",
    )
    rows = [_stored(r) for r in sweep.run_sweep(cfg, tmp_path / "switch.jsonl", show_progress=False)]
    assert {r["strategy"]: r["status"] for r in rows} == {
        "base": "ok",
        "merge_swap": "ok",
        "set_adapter": "ok",
        "hotswap": "unsupported",
        "mixed_prompt_batch": "ok",
    }
    for row in rows:
        assert undeclared(row) == [], row["strategy"]
        assert row["kind"] == "switch" and row["bench_version"] == bench.__version__
    assert len({r["run_id"] for r in rows}) == len(rows)
    assert "break_even_requests_per_task" in set().union(*rows)
    assert set(SWITCH_FIELDS) - set().union(*rows) <= {"trained_adapters_from"}

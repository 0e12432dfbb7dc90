"""Property-based fuzzing (hypothesis) of result rows, task files and their data, and adapter configs through
every reader: report, compare, baseline save and --resume's store read; task loading and example reading;
adapter config resolution. Each ends in exit code 0, 1 or 2 (or a BenchError), never a traceback; on 2
nothing is written and no temporary file is left. The hand-picked cases are in test_fuzz.py."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.catalog import methods
from bench.catalog.tasks import load_examples, load_task
from bench.cli import main
from bench.errors import BenchError
from bench.rows.store import read_rows
from tests.analysis.test_compare import make_row

FUZZ = settings(  # more: ADAPTER_BENCH_FUZZ_EXAMPLES=500
    max_examples=int(os.environ.get("ADAPTER_BENCH_FUZZ_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
JSON = st.recursive(
    SCALARS, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3), max_leaves=6
)
ROW_FIELDS = [
    "schema_version",
    "kind",
    "task",
    "method",
    "seed",
    "status",
    "error",
    "env",
    "budget",
    "method_params",
    "machine_class",
    "suite",
    "accuracy",
    "accuracy_ci_low",
    "peak_mem_bytes",
    "train_step_ms_samples",
    "trainable_params",
    "strategy",
    "n_tasks",
]
SPECIAL = st.sampled_from(["NaN", "Infinity", "-Infinity", "9" * 5000, "[" * 3000 + "]" * 3000, '"../../x"', '"=1+1"'])


@st.composite
def row_lines(draw) -> str:
    """A result row with a few fields replaced or removed, or a raw line, as JSON text (NaN allowed)."""
    row = make_row(draw(st.integers(0, 3)), method=draw(st.sampled_from(["lora", "full", "lo$ra$"])))
    row["suite"] = "smoke"
    for key in draw(st.sets(st.sampled_from(ROW_FIELDS), max_size=2)):
        row.pop(key, None)
    row.update(draw(st.dictionaries(st.sampled_from(ROW_FIELDS), JSON, max_size=3)))
    line = json.dumps(row, allow_nan=True)
    if draw(st.booleans()):  # a value JSON readers choke on, spliced in as text
        line = line[:-1] + f', "extra": {draw(SPECIAL)}}}'
    return draw(st.sampled_from([line, line, line[: len(line) // 2], draw(st.text(max_size=20))]))


def _main(argv, capsys) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert code in (0, 1, 2) and "Traceback" not in err, err
    if code == 2:
        assert len([line for line in err.splitlines() if line.startswith("error:")]) == 1, err
    return code, err


def _no_tmp(folder: Path) -> None:
    assert not [p for p in folder.rglob("*") if p.name.endswith((".tmp", ".partial"))]


@FUZZ
@given(st.lists(row_lines(), min_size=1, max_size=3))
def test_fuzzed_rows_through_every_reader(capsys, lines):
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        rows = d / "rows.jsonl"
        rows.write_text("\n".join(lines) + "\n")
        good = d / "good.jsonl"
        good.write_text(json.dumps({**make_row(), "suite": "smoke"}) + "\n")
        before = rows.read_bytes()
        try:
            readable = bool(read_rows(rows, skip_bad=True))  # what report reads: a bad line skipped, named
        except BenchError:
            readable = False
        code, _ = _main(["report", rows, "-o", d / "out" / "r.html"], capsys)
        assert (code == 0) == (d / "out" / "r.html").exists()
        if not readable:
            assert code == 2
        _main(["compare", good, rows], capsys)
        _main(["compare", rows, good, "--fail-missing"], capsys)
        code, _ = _main(["baseline", "save", rows, "--root", d / "base"], capsys)
        if code == 2:
            assert not [p for p in (d / "base").rglob("*") if p.is_file()]
        else:  # a saved baseline stays under its root
            assert all(p.resolve().is_relative_to((d / "base").resolve()) for p in (d / "base").rglob("*"))
        assert rows.read_bytes() == before
        _no_tmp(d)


TASK = {
    "name": "fz",
    "version": 1,
    "labels": ["negative", "positive"],
    "source": {"path": "data.csv", "format": "csv"},
    "text_field": "text",
    "label_field": "label",
}
TASK_KEYS = [
    "labels",
    "label_map",
    "label_from",
    "label_words",
    "text_field",
    "label_field",
    "size",
    "split",
    "type",
    "prompt",
    "source.format",
    "source.filter",
    "source.columns",
    "source.path",
    "source.member",
    "source.dedupe",
]
DATA = {
    "csv": st.lists(st.tuples(st.text(max_size=6), st.sampled_from(["positive", "negative", "1", "-2.5", "x"])))
    .map(lambda rs: "text,label\n" + "".join(f'"{t.replace(chr(34), "")}",{y}\n' for t, y in rs))
    .map(str.encode),
    "tsv": st.binary(max_size=60),
    "jsonl": st.lists(JSON, max_size=4).map(lambda xs: "".join(json.dumps(x) + "\n" for x in xs).encode()),
    "bigbench": JSON.map(lambda x: json.dumps({"examples": x} if not isinstance(x, dict) else x).encode()),
}


@FUZZ
@given(
    st.sampled_from(sorted(DATA)),
    st.data(),
    st.dictionaries(st.sampled_from(TASK_KEYS), JSON, max_size=3),
)
def test_fuzzed_task_files_and_data(fmt, data, overrides):
    task = json.loads(json.dumps(TASK))
    task["source"]["format"] = fmt
    for key, value in overrides.items():
        where, _, sub = key.partition(".")
        (task["source"] if sub else task)[sub or where] = value
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        (d / "data.csv").write_bytes(data.draw(DATA[fmt]))
        path = d / "fz.yaml"
        path.write_text(yaml.safe_dump(task))
        try:
            load_examples(load_task(str(path)))
        except BenchError as e:
            assert "\n" not in str(e).strip()
        _no_tmp(d)


ADAPTER_KEYS = [
    "r",
    "lora_alpha",
    "target_modules",
    "num_virtual_tokens",
    "task_type",
    "lora_dropout",
    "inference_mode",
]


@FUZZ
@given(
    st.sampled_from(["LORA", "PROMPT_TUNING", "IA3", "PREFIX_TUNING", "lora", "NOPE", 5, None]),
    st.dictionaries(st.sampled_from(ADAPTER_KEYS), JSON, max_size=3),
)
def test_fuzzed_adapter_configs(peft_type, fields):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "adapter_config.json"
        path.write_text(json.dumps({"peft_type": peft_type, **fields}))
        try:
            methods.resolve(str(path), {})
        except BenchError as e:
            assert "\n" not in str(e).strip()


@pytest.mark.parametrize("content", ["[" * 5000 + "]" * 5000, '{"peft_type": "LORA", "r": ' + "9" * 5000 + "}"])
def test_adapter_config_past_the_parser_limits(content, tmp_path):
    path = tmp_path / "adapter_config.json"
    path.write_text(content)
    with pytest.raises(BenchError, match="malformed adapter config"):
        methods.resolve(str(path), {})


YAML_VALUE = st.recursive(
    st.sampled_from(["1", "x", "-1e9", "nan", ".inf", "-1", "*a", "&a [1, 2]", "'s'", "", "9" * 30, "2e-4"]),
    lambda c: (
        st.lists(c, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]")
        | st.lists(st.tuples(st.sampled_from(["r", "lr", "alpha", "x"]), c), max_size=3).map(
            lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}"
        )
    ),
    max_leaves=10,
)
SET_KEYS = ["sweep.lora", "params.lora.r", "params.lora.lr", "seeds", "budget.warmup_ratio", "lr_sweep.lora", "tasks"]


def _planned_or_refused(cfg) -> None:
    """A suite either plans (and every run's row is one its readers take) or is refused in one line."""
    from bench.execute.executors import crash_row
    from bench.execute.suite import plan
    from bench.rows.schema import STATUSES
    from bench.rows.store import METRIC_NAMES
    from bench.rows.validate import row_problem

    try:
        specs = plan(cfg, show_progress=False, device_for=lambda d: "cpu")
    except BenchError as e:
        assert "\n" not in str(e) and len(str(e)) < 2000, str(e)[:300]
        return
    for spec in specs:
        assert row_problem(crash_row(spec, 1), METRIC_NAMES, STATUSES) is None


@FUZZ
@given(st.sampled_from(SET_KEYS), YAML_VALUE | st.text(max_size=30))
def test_fuzzed_set_values(key, value):
    from bench.config import SuiteConfig, apply_overrides

    base = SuiteConfig(tasks=("rotten_tomatoes",), methods=("lora",), model="shape:llama-3.2-1b")
    try:
        cfg = apply_overrides(base, [f"{key}={value}"])
    except BenchError as e:
        assert "\n" not in str(e) and len(str(e)) < 2000, str(e)[:300]
        return
    _planned_or_refused(cfg)


SUITE_KEYS = ["name", "seeds", "methods", "budget", "measure", "params", "lr_sweep", "sweep", "timeout_s", "x"]


@FUZZ
@given(st.dictionaries(st.sampled_from(SUITE_KEYS), JSON, max_size=3), st.sampled_from(["", "a: &a [1, 2]\nb: *a\n"]))
def test_fuzzed_suite_files(data, extra):
    from bench.config import load_suite

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "s.yaml"
        path.write_text("tasks: [rotten_tomatoes]\nmodel: shape:llama-3.2-1b\n" + yaml.safe_dump(data) + extra)
        try:
            cfg = load_suite(str(path))
        except BenchError as e:
            assert "\n" not in str(e), str(e)[:300]
            return
        _planned_or_refused(cfg)


@FUZZ
@given(st.lists(st.sampled_from(["cut", "garbage", "blank", "future", "bad-row"]), max_size=3))
def test_fuzzed_history_stores(capsys, damage):
    from tests.history.test_history import commit_rows

    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        for n in (1, 2, 3, 4):
            rows = commit_rows(n)
            if n == 3 and "future" in damage:
                rows = [{**r, "created_at": "2099-01-01T00:00:00+00:00"} for r in rows]
            (d / f"c{n}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
            assert _main(["history", "add", d / f"c{n}.jsonl", "--store", d / "s"], capsys)[0] == 0
            path = sorted((d / "s").rglob("*.jsonl"))[-1]
            with open(path, "ab") as f:
                for kind in damage:
                    f.write(
                        {"garbage": b"not json\n", "blank": b"\n\n", "bad-row": b'{"schema_version": 1}\n'}.get(
                            kind, b""
                        )
                    )
            if "cut" in damage:
                path.write_bytes(path.read_bytes()[:-25])
        _main(["history", "check", "--store", d / "s"], capsys)
        _main(["history", "report", "--store", d / "s", "-o", d / "h.html"], capsys)

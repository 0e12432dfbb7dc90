"""Bad input, fuzzed: malformed task files, suite files, adapter configs, result files and CLI
arguments each give one line on stderr and exit code 2, never a traceback, and leave the results
store as it was. Property-based: any `--set` string either applies or raises BenchError."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.cli import main
from bench.config import SuiteConfig, apply_overrides, parse_set
from bench.errors import BenchError
from tests.conftest import write_tiny_task

GOOD_ROW = (
    json.dumps(
        {
            "schema_version": 1,
            "kind": "run",
            "task": "t",
            "method": "lora",
            "seed": 0,
            "status": "ok",
            "config_hash": "x" * 64,
        }
    )
    + "\n"
)
GARBAGE = b"\xff\xfe\x00\x9c binary \x00\x01"

TASKS = {  # file content -> a malformed task
    "empty": "",
    "list": "- a\n- b\n",
    "scalar": "just text\n",
    "unclosed": "name: [x\n",
    "tabs": "name:\tx\n\tversion: 1\n",
    "missing keys": "name: x\n",
    "labels scalar": "name: x\nversion: 1\nlabels: 5\nsource: {path: d.csv}\n",
    "one label": "name: x\nversion: 1\nlabels: [a]\nsource: {path: d.csv}\n",
    "labels numbers": "name: x\nversion: 1\nlabels: [1, 2]\nsource: {path: d.csv}\n",
    "version text": "name: x\nversion: one\nlabels: [a, b]\nsource: {path: d.csv}\n",
    "source text": "name: x\nversion: 1\nlabels: [a, b]\nsource: d.csv\n",
    "split scalar": "name: x\nversion: 1\nlabels: [a, b]\nsource: {path: d.csv}\nsplit: 5\n",
    "split text": "name: x\nversion: 1\nlabels: [a, b]\nsource: {path: d.csv}\nsplit: {train: a}\n",
    "split sum": "name: x\nversion: 1\nlabels: [a, b]\nsource: {path: d.csv}\nsplit: {train: 0.9, test: 0.9}\n",
    "split key": "name: x\nversion: 1\nlabels: [a, b]\nsource: {path: d.csv}\nsplit: {nope: 1}\n",
    "label_words scalar": "name: x\nversion: 1\nlabels: [a, b]\nsource: {path: d.csv}\nlabel_words: 5\n",
    "label_words count": "name: x\nversion: 1\nlabels: [a, b]\nsource: {path: d.csv}\nlabel_words: [' a']\n",
    "label_map list": "name: x\nversion: 1\nlabels: [a, b]\nsource: {path: d.csv}\nlabel_map: [1]\n",
    "size text": "name: x\nversion: 1\nlabels: [a, b]\nsource: {path: d.csv}\nsize: many\n",
    "label_from": "name: x\nversion: 1\nlabels: [a, b]\nsource: {path: d.csv}\nlabel_from: bits\n",
    "unknown key": "name: x\nversion: 1\nlabels: [a, b]\nsource: {path: d.csv}\ncolour: red\n",
    "missing data file": "name: x\nversion: 1\nlabels: [a, b]\nsource: {path: nowhere.csv, format: csv}\n",
    "binary": GARBAGE,
}

SUITES = {
    "empty": "",
    "list": "- lora\n",
    "unclosed": "tasks: [rotten_tomatoes\n",
    "unknown key": "colour: red\n",
    "tasks number": "tasks: 5\n",
    "tasks null": "tasks: null\n",
    "no seeds": "seeds: []\n",
    "seeds text": "seeds: [a]\n",
    "seeds float": "seeds: [1.5]\n",
    "budget scalar": "budget: 5\n",
    "budget unknown": "budget: {speed: 1}\n",
    "budget zero": "budget: {batch_size: 0}\n",
    "budget inf": "budget: {epochs: .inf}\n",
    "params list": "params: [1]\n",
    "params scalar": "params: {lora: 5}\n",
    "params key": "params: {lora: {rank: 4}}\n",
    "params type": "params: {lora: {r: x}}\n",
    "params other method": "methods: [full]\nparams: {lora: {r: 4}}\n",
    "task_budget unknown": "task_budget: {nope: {epochs: 1}}\n",
    "device": "device: tpu\n",
    "switch": "switch: slow\n",
    "isolate": "isolate: maybe\n",
    "timeout negative": "timeout_s: -1\n",
    "timeout nan": "timeout_s: .nan\n",
    "model list": "model: [a]\n",
    "model unknown": "model: nope\n",
    "lr_sweep list": "lr_sweep: [1e-3]\n",
    "lr_sweep text": "lr_sweep: {lora: [fast]}\n",
    "lr_sweep negative": "lr_sweep: {lora: [-1e-3]}\n",
    "lr_sweep other method": "methods: [full]\nlr_sweep: {lora: [1e-3]}\n",
    "lr_sweep and lr": "methods: [lora]\nparams: {lora: {lr: 0.01}}\nlr_sweep: {lora: [1e-3]}\n",
    "binary": GARBAGE,
}

ADAPTERS = {
    "empty": "",
    "not json": "{peft_type: LORA",
    "list": "[1, 2]",
    "no peft_type": '{"r": 8}',
    "unknown peft_type": '{"peft_type": "NOPE"}',
    "peft_type number": '{"peft_type": 5}',
    "peft_type list": '{"peft_type": ["LORA"]}',
    "binary": GARBAGE,
}

RESULTS = {  # for --resume
    "middle line": GOOD_ROW + "{oops\n" + GOOD_ROW,
    "not a row": GOOD_ROW + "[1, 2]\n" + GOOD_ROW,
    "null row": "null\n" + GOOD_ROW,
    "no schema": '{"task": "t"}\n',
    "binary": GARBAGE + b"\n" + GOOD_ROW.encode(),
}

ARGS = [
    ["--seeds", "a"],
    ["--seeds", "0,0"],
    ["--methods", "lora,lora"],
    ["--tasks", "rotten_tomatoes,rotten_tomatoes"],
    ["--seeds", ""],
    ["--seeds", ","],
    ["--tasks", ""],
    ["--methods", ","],
    ["--model", ""],
    ["--limit", "-1"],
    ["--limit", "x"],
    ["--max-steps", "0"],
    ["--timeout", "0"],
    ["--timeout", "-5"],
    ["--timeout", "nan"],
    ["--timeout", "soon"],
    ["--executor", "slurm"],
    ["--executor", "local", "--ray-address", "auto"],
    ["--set", "="],
    ["--set", ".=1"],
    ["--set", "a..b=1"],
    ["--set", "params.lora=1"],
    ["--set", "budget=5"],
    ["--set", "budget.batch_size"],
    ["--set", "seeds=1.5"],
    ["--set", "tasks="],
    ["--set", "isolate=maybe"],
    ["--set", "name.x=1"],
    ["--set", "params.lora.r.x=1"],
    ["--set", "task_budget.x=1"],
    ["--set", "kind=run"],
    ["--set", "lr_sweep.lora=x"],
    ["--set", "lr_sweep.lora=0"],
    ["--set", "lr_sweep=1e-3"],
    ["--set", "lr_sweep.nope=1e-3"],
    ["--suite", ""],
    ["--tasks-dir", "/no/such/folder"],
    ["--device", "gpu"],
    ["--no-isolate", "--timeout", "5"],
    ["--bogus"],
    ["--limit"],
]


class GotPastValidation(AssertionError):
    pass


@pytest.fixture(autouse=True)
def no_fetch_no_runs(monkeypatch):
    """Most cases sit in the default suite: a case that got past validation must fail here, loudly,
    instead of fetching the real model or training anything."""
    import bench.catalog.assets
    import bench.execute.executors

    def refuse(*args, **kwargs):
        raise GotPastValidation("a malformed input got past validation")

    monkeypatch.setattr(bench.catalog.assets, "fetch", refuse)
    monkeypatch.setattr(bench.execute.executors.LocalExecutor, "rows", refuse)


def run_bad(argv, store, capsys) -> str:
    store.write_text(GOOD_ROW)
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:  # argparse's own errors
        code = e.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("error: "), err
    assert store.read_text() == GOOD_ROW  # the store is unchanged
    return err


def _write(path, content):
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


@pytest.mark.parametrize("name", TASKS)
def test_malformed_task_file(name, tiny_bert_dir, tmp_path, capsys):
    write_tiny_task(tmp_path)  # a real data file beside it
    task = _write(tmp_path / "bad.yaml", TASKS[name])
    err = run_bad(
        ["run", "--tasks", task, "--methods", "lora", "--model", tiny_bert_dir, "--output", tmp_path / "rows.jsonl"],
        tmp_path / "rows.jsonl",
        capsys,
    )
    assert "task" in err or "YAML" in err or "file" in err


@pytest.mark.parametrize("name", SUITES)
def test_malformed_suite_file(name, tmp_path, capsys):
    suite = _write(tmp_path / "bad.yaml", SUITES[name])
    run_bad(["run", "--suite", suite, "--output", tmp_path / "rows.jsonl"], tmp_path / "rows.jsonl", capsys)


@pytest.mark.parametrize("name", ADAPTERS)
def test_malformed_adapter_config(name, tmp_path, capsys):
    config = _write(tmp_path / "adapter_config.json", ADAPTERS[name])
    err = run_bad(["run", "--methods", config, "--output", tmp_path / "rows.jsonl"], tmp_path / "rows.jsonl", capsys)
    assert "adapter config" in err or "method" in err


@pytest.mark.parametrize("name", RESULTS)
def test_malformed_result_file(name, tmp_path, capsys):
    bad = _write(tmp_path / "bad.jsonl", RESULTS[name])
    before = bad.read_bytes()
    store = tmp_path / "rows.jsonl"
    # report skips a bad line, naming it, when whole rows remain; compare stays strict
    code = main(["report", str(bad), "-o", str(tmp_path / "r.html")])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert code in (0, 2) and all(x.startswith(("warning: ", "error: ")) for x in lines), err
    assert code == 0 or lines[-1].startswith("error: ")
    run_bad(["compare", bad, store], store, capsys)
    # --resume reads the very store it appends to: a malformed one is refused, untouched
    assert main(["run", "--methods", "lora", "--resume", "--output", str(bad)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert bad.read_bytes() == before


@pytest.mark.parametrize("argv", ARGS, ids=[" ".join(a) or "empty" for a in ARGS])
def test_bad_cli_arguments(argv, tmp_path, capsys):
    store = tmp_path / "rows.jsonl"
    run_bad(["run", *argv, "--output", store], store, capsys)


def test_output_folder_and_resume_without_output(tmp_path, capsys):
    store = tmp_path / "rows.jsonl"
    run_bad(["run", "--output", tmp_path], store, capsys)
    run_bad(["run", "--resume"], store, capsys)


# ----------------------------------------------------------------------------- --set, property-based

KEYS = [
    "name",
    "model",
    "tasks",
    "methods",
    "seeds",
    "device",
    "isolate",
    "timeout_s",
    "switch",
    "budget",
    "budget.epochs",
    "budget.batch_size",
    "budget.warmup_ratio",
    "budget.group_by_length",
    "measure.infer_repeats",
    "params.lora.r",
    "params.lora.lr",
    "params.full",
    "task_budget.x.epochs",
    "params",
    "lr_sweep",
    "lr_sweep.lora",
    "nope",
    "",
]
VALUES = st.one_of(
    st.text(max_size=12),
    st.integers().map(str),
    st.floats().map(str),
    st.sampled_from(["true", "no", "", ",", "0,1", "1e400", "-0", "nan", "inf", "=", ".", "lora,full"]),
)


def _applies_or_bench_error(item: str) -> None:
    try:
        apply_overrides(SuiteConfig(), [item])
    except BenchError as e:
        assert "\n" not in str(e).strip() or item.count("\n"), str(e)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=40))
def test_any_set_string_applies_or_is_a_bench_error(item):
    _applies_or_bench_error(item)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(KEYS), st.lists(st.sampled_from(["", ".", "x", "r", ".."]), max_size=2), VALUES)
def test_set_on_real_keys_applies_or_is_a_bench_error(key, suffix, value):
    _applies_or_bench_error(key + "".join(suffix) + "=" + value)


@given(st.text(max_size=30))
def test_parse_set_splits_or_is_a_bench_error(item):
    try:
        parts, value = parse_set(item)
    except BenchError:
        return
    assert all(parts) and "=" in item and item.endswith(value)

"""What makes two runs the same run (bench/execute/identity.py): every committed row rebuilds its own config
hash from its fields, today's plans of the committed suites find their rows, the device and the suite's name
stay out, later parameters at their defaults drop out, and compare's match key differs where it should."""

from __future__ import annotations

import json
from pathlib import Path

from bench.config import SuiteConfig, apply_overrides, load_suite
from bench.execute.identity import (
    LATER_PARAM_KEYS,
    RUN_FIELDS,
    config_hash,
    finished,
    match_key,
    ok_runs,
    run_hashes,
)
from bench.execute.suite import plan
from bench.rows.schema import kind_of
from bench.rows.store import read_rows

RESULTS = Path(__file__).resolve().parents[2] / "results"

# arithmetic's task file at version 1, as the committed llm rows were run on it (read from the bigbench 1.0.0
# archive, which the package index no longer serves; version 2 generates its questions)
ARITHMETIC_V1 = """name: arithmetic
version: 1
type: generation
description: Two-digit addition (BIG-bench arithmetic/2_digit_addition), answered by generation and scored by exact match of the first number. Needs the 358 MB BIG-bench archive, fetched once.
source:
  asset: bigbench
  member: bigbench-1.0.0/bigbench/benchmark_tasks/arithmetic/2_digit_addition/task.json
  format: bigbench
text_field: input
label_field: label
prompt: "{text}\\nA:"
metric: exact_match
answer_regex: "[-+]?\\\\d+"
max_new_tokens: 6
size: 1000
split: {seed: 1234, train: 0.7, validation: 0.1, test: 0.2}
"""


def arithmetic_v1(folder: Path) -> list[Path]:
    """A tasks folder whose arithmetic is version 1 (later folders win over the shipped tasks)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "arithmetic.yaml").write_text(ARITHMETIC_V1)
    return [folder]


def committed_run_rows() -> list[tuple[str, dict]]:
    """(file, row) for every run row of every committed store, baselines included; every line accounted for."""
    out, lines = [], 0
    for path in sorted(RESULTS.rglob("*.jsonl")):
        lines += sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
        out += [(str(path.relative_to(RESULTS)), row) for row in read_rows(path)]
    assert len(out) == lines  # no row skipped by the reader
    return [(f, r) for f, r in out if kind_of(r) == "run"]


def test_every_committed_row_rebuilds_its_config_hash():
    """A row's own RUN_FIELDS, and nothing else, give back the config hash it recorded (or its also_hash
    form, written while a later parameter was new). Rows saved before hashes were recorded carry none."""
    rows = committed_run_rows()
    hashed = [(f, r) for f, r in rows if "config_hash" in r]
    unhashed = [f for f, r in rows if "config_hash" not in r]
    # rows saved before config hashes: the smoke baseline of 2026-11-29, kept as data in results/gate
    assert all(f == "gate/smoke-2026-11-29.jsonl" for f in unhashed), unhashed
    by_hash = by_also = 0
    for f, row in hashed:
        h, also = run_hashes({k: row.get(k) for k in RUN_FIELDS})
        assert row["config_hash"] in (h, also or None), f"{f}: {row['method']} seed {row['seed']} ({row['run_id']})"
        by_hash += row["config_hash"] == h
        by_also += row["config_hash"] == also
    print(f"{len(hashed)} committed rows rebuilt ({by_hash} by config hash, {by_also} by also_hash); ", end="")
    print(f"{len(unhashed)} rows predate config hashes")
    assert by_hash + by_also == len(hashed) >= 30 and len(hashed) + len(unhashed) == len(rows)


def test_todays_plans_find_the_committed_rows(tmp_path):
    """What --resume does: every run planned today for a suite with committed rows finds its `ok` row (rows
    run before the precision option, before `sweep:` existed, and on both sides of prefix tuning's
    `projection` included), so today's resolved parameters and defaults are those the rows recorded. The llm
    rows' arithmetic is version 1 in one file and version 2 in another: planned on the version 1 task file
    the old rows are found, and today's version 2 runs (new questions) find only the version 2 rows."""
    rows: dict[str, list[dict]] = {}
    for _, row in committed_run_rows():
        if row.get("config_hash") and row.get("weights") != "random":  # shape runs: the quick suite, overridden
            rows.setdefault(row["suite"], []).append(row)
    assert sorted(rows) == ["deploy", "llm", "llm_rt", "smoke"]
    checked = 0
    v1 = arithmetic_v1(tmp_path / "v1")
    for suite, suite_rows in rows.items():
        done = ok_runs(suite_rows)
        for spec in plan(load_suite(suite), v1):
            assert finished(done, spec.config_hash, spec.also_hash), f"{suite}: {spec.method} seed {spec.seed}"
            checked += 1
        for spec in plan(load_suite(suite)):
            found = finished(done, spec.config_hash, spec.also_hash)
            assert found, f"{suite}: {spec.task} v{spec.task_version} {spec.method}"
            assert found.get("task_version", 1) == spec.task_version  # version 2 runs never take version 1's rows
    print(f"{checked} planned runs found their committed rows")
    assert checked >= 20


def test_a_parameter_added_later_matches_rows_from_before_and_after(tmp_path):
    """Prefix tuning's `projection` came while llm's rows were being written: one prefix-tuning row records
    it, one does not, and neither hash has it. compare matches both rows; a row whose hash wrote the new
    parameter out at its default is found through `also_hash`."""
    assert LATER_PARAM_KEYS["projection"] is False
    rows = read_rows(RESULTS / "llm/cpu-amd-epyc-2c.jsonl")
    prefix = [r for r in rows if r["method"] == "prefix_tuning"]
    assert ["projection" in r["method_params"] for r in prefix] == [False, True]
    without = {**prefix[1], "method_params": {k: v for k, v in prefix[1]["method_params"].items() if k != "projection"}}
    assert match_key(without) == match_key(prefix[1])
    assert config_hash(without) == config_hash(prefix[1]) == prefix[1]["config_hash"]
    llm = plan(load_suite("llm"), arithmetic_v1(tmp_path / "v1"))  # the task version the rows record
    spec = next(s for s in llm if (s.method, s.task) == ("prefix_tuning", prefix[1]["task"]))
    assert spec.config_hash == prefix[1]["config_hash"]
    assert spec.also_hash == config_hash(prefix[1], every_param=True) != spec.config_hash
    written_out = {**prefix[1], "config_hash": spec.also_hash}  # as a row recorded it while projection was new
    assert finished(ok_runs([written_out]), spec.config_hash, spec.also_hash) is written_out
    on = {**prefix[1], "method_params": {**prefix[1]["method_params"], "projection": True}}
    assert config_hash(on) != config_hash(prefix[1]) and match_key(on) != match_key(prefix[1])


def test_config_hash_is_stable_and_ignores_device_and_suite_name(tiny_task):
    base = apply_overrides(SuiteConfig(), [f"tasks={tiny_task}", "methods=lora,full", "seeds=0,1", "model=minilm"])
    hashes = [s.config_hash for s in plan(base)]
    assert len(set(hashes)) == 4 and all(len(h) == 64 for h in hashes)
    same = apply_overrides(
        base,
        [
            "device=cpu",
            "name=other",
            "timeout_s=5",
            "isolate=false",
            "budget.precision=fp32",
            "budget.chat_template=false",
            "params.lora.use_rslora=false",
        ],
    )
    assert [s.config_hash for s in plan(same)] == hashes
    # resolved parameters: the default written out is the same run as the default left implicit
    assert [s.config_hash for s in plan(apply_overrides(base, ["params.lora.r=8"]))] == hashes
    for change in (
        "params.lora.r=4",
        "params.lora.use_rslora=true",
        "budget.epochs=2",
        "budget.precision=bf16",
        "budget.chat_template=true",
        "measure.infer_repeats=9",
        "model=smollm2-135m",
    ):
        assert [s.config_hash for s in plan(apply_overrides(base, [change]))] != hashes, change


def test_match_key_differs_from_the_config_hash_on_device_kind_and_measure():
    """compare pairs rows of the same experiment on the same kind of device, whatever the measurement
    settings; the config hash ignores the device and counts the measurement settings."""
    row = read_rows(RESULTS / "llm/cpu-amd-epyc-2c.jsonl")[0]
    gpu = {**row, "env": {**row["env"], "device_kind": "cuda"}, "machine_class": "other", "suite": "other"}
    assert config_hash(gpu) == config_hash(row) and match_key(gpu) != match_key(row)
    repeats = {**row, "measure": {**row["measure"], "infer_repeats": row["measure"]["infer_repeats"] + 1}}
    assert config_hash(repeats) != config_hash(row) and match_key(repeats) == match_key(row)
    timed = {**row, "wall_s": 1.0, "run_id": "x", "created_at": "now", "model_revision": "a" * 40, "data_revision": "b"}
    assert config_hash(timed) == config_hash(row) and match_key(timed) == match_key(row)
    assert json.loads(match_key(row)[3]) == row["task"]  # readable fields, not a hash

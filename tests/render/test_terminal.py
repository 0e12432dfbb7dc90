"""The terminal summary (bench/render/terminal.py summary_table): its metric columns are the schema's terminal
columns, in the schema's order and format; a run that is not ok shows its status; seeds show their spread."""

from __future__ import annotations

import re

import pytest

from bench.render import terminal
from bench.render.terminal import summary_table
from bench.rows import schema
from bench.rows.schema import metrics
from tests.conftest import ok_run_row as _row


def cells(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())  # columns are two spaces apart at least


def table(rows) -> dict[str, list[str]]:
    """method -> its line's cells; "header" -> the header's."""
    lines = summary_table(rows).splitlines()
    assert set(lines[1]) == {"-", " "}  # the rule under the header
    return {"header": cells(lines[0]), **{cells(line)[1]: cells(line) for line in lines[2:]}}


def test_the_columns_are_the_schemas_terminal_metrics():
    header = table([_row()])["header"]
    columns = metrics("terminal")
    assert header == ["task", "method", "status", *(m.terminal for m in columns)]
    assert {"accuracy", "trainable_params", "peak_mem_own_bytes"} <= {m.name for m in columns}


def test_a_metric_the_schema_drops_or_adds_is_a_column_less_or_more(monkeypatch):
    kept = tuple(m for m in schema.METRICS if m.name in ("accuracy", "peak_mem_own_bytes"))
    monkeypatch.setattr(terminal, "metrics", lambda where=None, **eq: kept)
    t = table([_row()])
    assert t["header"] == ["task", "method", "status", "accuracy (95% CI)", "own peak MiB"]
    assert t["lora"] == ["t", "lora", "ok", "0.800 [0.700, 0.900]", "1024"]  # each cell in its metric's format


def test_each_cell_in_its_metrics_terminal_format():
    line = table([_row()])["lora"]
    by_header = dict(zip(table([_row()])["header"], line))
    for m in metrics("terminal"):
        if m.name != "accuracy":
            assert by_header[m.terminal] == m.text(_row()[m.name], terminal=True), m.name
    assert by_header["trainable"] == "74.50k" and by_header["own peak MiB"] == "1024"


def test_a_failed_run_shows_its_status_and_no_numbers():
    t = table([_row(), _row(method="full", status="failed", error="boom"), _row(method="ia3", status="oom")])
    n = len(metrics("terminal"))
    assert t["full"] == ["t", "full", "failed", *["-"] * n]
    assert t["ia3"] == ["t", "ia3", "oom", *["-"] * n]
    assert t["lora"][2] == "ok"
    mixed = table([_row(seed=0), _row(seed=1, status="timeout"), _row(seed=2, status="failed")])
    assert mixed["lora"][2] == "failed,ok,timeout"  # every status among its seeds
    assert mixed["lora"][3] == "0.800 [0.700, 0.900]"  # the ok seed's numbers


def test_summary_table_shows_failures_and_seed_spread():
    rows = [
        _row(),
        _row(method="prompt_tuning", status="failed", error="boom"),
        _row(method="full", seed=0, accuracy=0.7),
        _row(method="full", seed=1, accuracy=0.9),
    ]
    text = summary_table(rows)
    assert "0.800 [0.700, 0.900]" in text
    assert "prompt_tuning" in text and "failed" in text
    assert "0.800 (0.700..0.900, n=2)" in text


def test_a_generation_run_shows_its_stand_in_rate_and_switch_rows_are_left_out():
    gen = _row(method="full", infer_tokens_per_s=None, infer_tokens_per_s_batch=None, gen_tokens_per_s=42.0)
    t = table([gen, {"kind": "switch", "task": "x", "method": "y", "status": "ok"}])
    by_header = dict(zip(t["header"], t["full"]))
    stand_in = next(m for m in metrics("terminal") if m.stand_in == "gen_tokens_per_s")
    assert by_header[stand_in.terminal] == "42" and set(t) == {"header", "full"}


@pytest.mark.parametrize("rows", [[], [{"kind": "switch", "status": "ok"}]])
def test_no_run_rows_is_a_header_alone(rows):
    assert summary_table(rows).splitlines()[0].split()[:3] == ["task", "method", "status"]
    assert len(summary_table(rows).splitlines()) == 2


def test_the_own_peak_of_a_row_from_before_it_was_recorded_is_derived():
    old = _row()
    del old["peak_mem_own_bytes"]  # peak 1.25 GiB less the 256 MiB resident before the model
    t = table([old])
    assert dict(zip(t["header"], t["lora"]))["own peak MiB"] == "1024"


def test_a_task_scored_by_rouge_shows_its_metric_beside_exact_match():
    gen = _row(
        task="country_profile", accuracy=0.0, metric="rougeL", score=0.287, score_ci_low=0.25, score_ci_high=0.32
    )
    cls = _row(task="sst2")
    header, _, *lines = summary_table([gen, cls]).splitlines()
    assert "task metric (95% CI)" in header
    assert "rougeL 0.287 [0.250, 0.320]" in lines[0]
    assert "rougeL" not in lines[1]
    assert "task metric" not in summary_table([cls]).splitlines()[0]  # classification alone: no extra column

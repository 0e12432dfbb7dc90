"""bench.rows.load_frame and `python -m bench export`."""

from __future__ import annotations

import csv
import importlib.util
import json

import pytest

from bench.cli import main
from bench.rows import load_frame
from tests.history.test_history import commit_rows


def write(tmp_path, name, rows):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_load_frame_is_one_row_per_run_with_flat_settings(tmp_path):
    a, b = write(tmp_path, "a.jsonl", commit_rows(1)), write(tmp_path, "b.jsonl", commit_rows(2))
    frame = load_frame([a, b])
    assert len(frame) == 8 and list(frame["source"]).count(str(b)) == 4
    assert {"budget.epochs", "method_params.lr", "env.device_kind", "train_step_ms_p50"} <= set(frame.columns)
    assert "train_step_ms_samples" not in frame.columns  # raw samples only with raw=True
    lora = frame[(frame.method == "lora") & (frame.git_sha == commit_rows(2)[0]["git_sha"])]
    assert lora["train_step_ms_p50"].item() == commit_rows(2)[0]["train_step_ms_p50"]
    assert "train_step_ms_samples" in load_frame(a, raw=True).columns


def test_export_csv(tmp_path, capsys):
    rows = write(tmp_path, "rows.jsonl", commit_rows(1))
    assert main(["export", str(rows), "--format", "csv"]) == 0
    table = list(csv.DictReader((tmp_path / "rows.csv").open()))
    assert [r["method"] for r in table] == [r["method"] for r in commit_rows(1)]
    assert float(table[0]["accuracy"]) == pytest.approx(commit_rows(1)[0]["accuracy"])
    assert main(["export", str(rows), "-o", str(rows)]) == 2  # never over the rows


@pytest.mark.skipif(importlib.util.find_spec("pyarrow") is not None, reason="pyarrow is installed")
def test_parquet_without_pyarrow_is_one_line(tmp_path, capsys):
    rows = write(tmp_path, "rows.jsonl", commit_rows(1))
    assert main(["export", str(rows), "--format", "parquet"]) == 2
    assert capsys.readouterr().err.strip() == "error: --format parquet needs the pyarrow package (pip install pyarrow)"


@pytest.mark.skipif(importlib.util.find_spec("pyarrow") is None, reason="needs pyarrow")
def test_parquet_round_trip(tmp_path):
    import pandas as pd

    rows = write(tmp_path, "rows.jsonl", commit_rows(1))
    assert main(["export", str(rows), "--format", "parquet"]) == 0
    assert list(pd.read_parquet(tmp_path / "rows.parquet")["method"]) == [r["method"] for r in commit_rows(1)]

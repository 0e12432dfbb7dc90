"""The append-only JSONL store (bench/rows/store.py): round trip, a truncated last line, a malformed one, NaN."""

import json

import pytest

from bench.errors import BenchError
from bench.rows.schema import METRICS
from bench.rows.store import append_rows, clean_floats, read_rows
from tests.conftest import ok_run_row as _row


def test_append_and_read_round_trip(tmp_path):
    path = tmp_path / "r.jsonl"
    append_rows(path, [_row()])
    append_rows(path, [_row(method="full")])
    assert [r["method"] for r in read_rows(path)] == ["lora", "full"]


def test_truncated_last_line_is_ignored_with_a_warning(tmp_path, capsys):
    path = tmp_path / "r.jsonl"
    append_rows(path, [_row(), _row(method="full")])
    good = path.read_bytes()
    with open(path, "ab") as f:
        f.write(json.dumps(_row(method="x")).encode()[:30])  # killed mid-write
    rows = read_rows(path)
    assert [r["method"] for r in rows] == ["lora", "full"]
    assert "truncated last line" in capsys.readouterr().err
    assert path.read_bytes().startswith(good)


def test_malformed_middle_line_is_an_error(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(_row()) + "\n{oops\n" + json.dumps(_row()) + "\n")
    with pytest.raises(BenchError, match="line 2 is not JSON"):
        read_rows(path)
    with pytest.raises(BenchError, match="cannot read results"):
        read_rows(tmp_path / "missing.jsonl")


def test_nan_becomes_null_and_directions_are_declared():
    assert clean_floats({"a": float("nan"), "b": [1.0, float("inf")]}) == {"a": None, "b": [1.0, None]}
    assert {m.direction for m in METRICS} == {"higher", "lower", None}
    for m in METRICS:
        assert m.unit, m.name

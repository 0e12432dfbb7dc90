"""bench.rows.load_frame and `python -m bench export`."""

from __future__ import annotations

import csv
import importlib.util
import json
import re
from pathlib import Path

import pytest

from bench.cli import main
from bench.rows import load_frame
from bench.rows.frame import flat
from tests.history.test_history import commit_rows
from tests.render.test_html import switch_row

ROOT = Path(__file__).resolve().parents[2]


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


def test_export_csv(tmp_path, capsys, monkeypatch):
    rows = write(tmp_path, "rows.jsonl", commit_rows(1))
    monkeypatch.chdir(tmp_path)
    assert main(["export", str(rows), "--format", "csv"]) == 0
    table = list(csv.DictReader((tmp_path / "rows.csv").open()))
    assert [r["method"] for r in table] == [r["method"] for r in commit_rows(1)]
    assert float(table[0]["accuracy"]) == pytest.approx(commit_rows(1)[0]["accuracy"])
    assert main(["export", str(rows), "-o", str(rows)]) == 2  # never over the rows


@pytest.mark.skipif(importlib.util.find_spec("pyarrow") is not None, reason="pyarrow is installed")
def test_parquet_without_pyarrow_is_one_line(tmp_path, capsys, monkeypatch):
    rows = write(tmp_path, "rows.jsonl", commit_rows(1))
    monkeypatch.chdir(tmp_path)
    assert main(["export", str(rows), "--format", "parquet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --format parquet needs the pyarrow package: pip install '.[parquet]'")
    assert len(err.splitlines()) == 1 and not (tmp_path / "rows.parquet").exists()


@pytest.mark.skipif(importlib.util.find_spec("pyarrow") is None, reason="needs pyarrow")
def test_parquet_round_trip(tmp_path, monkeypatch):
    import pandas as pd

    rows = write(tmp_path, "rows.jsonl", commit_rows(1))
    monkeypatch.chdir(tmp_path)
    assert main(["export", str(rows), "--format", "parquet"]) == 0
    assert list(pd.read_parquet(tmp_path / "rows.parquet")["method"]) == [r["method"] for r in commit_rows(1)]
    served = write(tmp_path, "serve.jsonl", [SERVE, SWITCH])  # every nested field flattened stores as Parquet
    assert main(["export", str(served), "--format", "parquet", "-o", str(tmp_path / "s.parquet")]) == 0
    back = pd.read_parquet(tmp_path / "s.parquet")
    assert back["curve.1.p99_ms"][0] == SERVE["curve"][1]["p99_ms"]


SERVE = json.loads((ROOT / "results" / "serving" / "serve-cpu.jsonl").read_text().splitlines()[0])
SWITCH = switch_row(
    "merge_swap",
    4,
    80.0,
    12.5,
    gates={"outputs_match": {"ok": True, "max_abs_diff": 0.0}},
    sweep={"model": "minilm", "tasks_n": [1, 4], "profile": {"repeats": 3}},
    total_ms_samples=[10.0, 11.0],
)


def test_every_nested_field_of_serve_and_switch_rows_is_a_dotted_column():
    """Objects at any depth -> dotted names; lists of objects -> numbered groups (each point keeps its own rate);
    lists of plain values -> one JSON text cell; raw samples only with raw=True. No cell holds a list or dict."""
    serve, switch = flat(SERVE), flat(SWITCH)
    assert serve["at_slo.p99_ms"] == SERVE["at_slo"]["p99_ms"]
    assert serve["serve.model.layers"] == SERVE["serve"]["model"]["layers"]
    for i, point in enumerate(SERVE["curve"]):
        assert serve[f"curve.{i}.rate_rps"] == point["rate_rps"] and serve[f"curve.{i}.p99_ms"] == point["p99_ms"]
    v = SERVE["validation"][0]
    assert serve["validation.0.fraction"] == v["fraction"] and serve["validation.0.real.p50_ms"] == v["real"]["p50_ms"]
    assert (
        serve["validation.0.sim.p50_ms"] == v["sim"]["p50_ms"] and serve["service_ms.8,1"] == SERVE["service_ms"]["8,1"]
    )
    assert json.loads(serve["serve.strategies"]) == SERVE["serve"]["strategies"]
    assert switch["gates.outputs_match.ok"] is True and switch["sweep.profile.repeats"] == 3
    assert json.loads(switch["sweep.tasks_n"]) == [1, 4]
    assert not any(k.startswith(("service_samples", "total_ms_samples")) for k in (*serve, *switch))
    assert json.loads(flat(SWITCH, raw=True)["total_ms_samples"]) == [10.0, 11.0]
    assert "service_samples.8,1" in flat(SERVE, raw=True)
    for row in (serve, switch, flat(SERVE, raw=True)):
        assert not [k for k, v in row.items() if isinstance(v, (list, dict))]


def test_export_writes_to_the_current_folder_and_never_over_a_file_without_force(tmp_path, capsys, monkeypatch):
    data = tmp_path / "results"
    data.mkdir()
    rows = write(data, "serve.jsonl", [SERVE, SWITCH])
    here = tmp_path / "work"
    here.mkdir()
    monkeypatch.chdir(here)
    assert main(["export", str(rows)]) == 0
    assert (here / "serve.csv").is_file() and sorted(p.name for p in data.iterdir()) == ["serve.jsonl"]
    table = list(csv.DictReader((here / "serve.csv").open()))
    assert float(table[0]["at_slo.p99_ms"]) == pytest.approx(SERVE["at_slo"]["p99_ms"])
    assert float(table[0]["curve.0.rate_rps"]) == pytest.approx(SERVE["curve"][0]["rate_rps"])
    before = (here / "serve.csv").read_bytes()
    capsys.readouterr()
    assert main(["export", str(rows), "--raw"]) == 2  # an earlier export is not silently replaced
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "exists" in err and "--force" in err
    assert (here / "serve.csv").read_bytes() == before
    assert main(["export", str(rows), "--raw", "--force"]) == 0 and (here / "serve.csv").read_bytes() != before
    assert main(["export", str(rows), "-o", str(rows), "--force"]) == 2  # never over result rows
    assert main(["export", str(rows), "-o", str(tmp_path / "out" / "t.csv")]) == 0
    assert (tmp_path / "out" / "t.csv").is_file()


def test_the_parquet_extra_named_by_the_error_and_the_docs_is_declared():
    declared = re.search(r"^parquet = \[(.*)\]", (ROOT / "pyproject.toml").read_text(), re.M)  # no tomllib in 3.10
    assert declared and '"pyarrow' in declared.group(1)
    assert "pip install '.[parquet]'" in (ROOT / "docs" / "rows.md").read_text()

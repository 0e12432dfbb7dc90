"""Hostile inputs, second round: nothing is written over result rows, what is written can be read back, one
bad row spoils no other, suite names stay in results/runs, serve and switch check their output first.

Each test names the mistake or attack it stands for; each ends in exit 0, 1 or 2 with one line, and the rows
that were there before are there after, byte for byte."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bench.cli import main
from tests.e2e.test_cli import FAST

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "results" / "llm" / "cpu-amd-epyc-2c.jsonl"  # real rows with sha, time, machine and suite


def cli(argv, capsys) -> tuple[int, str]:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


@pytest.fixture
def rows(tmp_path) -> Path:
    path = tmp_path / "A" / "rows.jsonl"
    path.parent.mkdir()
    shutil.copy(COMMITTED, path)
    return path


def tiny_run(model, task, out, *extra) -> list[str]:
    args = ["run", "--model", model, "--tasks", task, "--methods", "head_only", "--seeds", "0", "--limit", "8"]
    return [*map(str, args), "--output", str(out), "--no-adapters", "--no-isolate", *FAST, *map(str, extra)]


# ----------------------------------------------------------------------------- 1: rows replaced by HTML


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "{rows}", "-o", "{rows}"],
        ["report", "{rows}", "-o", "{other}"],
        ["history", "report", "--store", "{store}", "-o", "{rows}"],
        ["export", "{other}", "-o", "{rows}"],
        ["export", "{rows}", "--format", "parquet", "-o", "{other}"],
    ],
    ids=["report-onto-itself", "report-onto-other-rows", "history-report-onto-rows", "export-csv", "export-parquet"],
)
def test_no_writer_replaces_result_rows(argv, rows, tmp_path, capsys):
    other = tmp_path / "B" / "other.jsonl"
    other.parent.mkdir()
    shutil.copy(rows, other)
    store = tmp_path / "store"
    assert main(["history", "add", str(rows), "--store", str(store)]) == 0
    before = {p: p.read_bytes() for p in (rows, other)}
    code, err = cli([a.format(rows=rows, other=other, store=store) for a in argv], capsys)
    assert code == 2 and "holds result rows" in err and len(err.strip().splitlines()) == 1
    assert {p: p.read_bytes() for p in (rows, other)} == before


def test_an_existing_file_is_kept_unless_force_and_a_report_is_rewritten(rows, tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    code, err = cli(["report", rows, "-o", notes], capsys)
    assert code == 2 and "--force" in err and notes.read_text() == "my notes\n"
    assert cli(["report", rows, "-o", notes, "--force"], capsys)[0] == 0
    assert notes.read_text().startswith("<!DOCTYPE html>")
    html = tmp_path / "r.html"
    assert cli(["report", rows, "-o", html], capsys)[0] == 0
    assert cli(["report", rows, "-o", html], capsys)[0] == 0  # its own earlier report: rewritten
    csv = tmp_path / "t.csv"
    assert cli(["export", rows, "-o", csv], capsys)[0] == 0
    assert cli(["export", rows, "-o", csv], capsys)[0] == 0


@pytest.mark.parametrize("bad", ["folder", "under-a-file"])
def test_history_report_to_a_folder_or_under_a_file_is_one_line(bad, rows, tmp_path, capsys):
    store = tmp_path / "store"
    assert main(["history", "add", str(rows), "--store", str(store)]) == 0
    afile = tmp_path / "afile"
    afile.write_text("x")
    out = tmp_path if bad == "folder" else afile / "x.html"
    code, err = cli(["history", "report", "--store", store, "-o", out], capsys)
    assert code == 2 and err.startswith("error: ") and afile.read_text() == "x"


def test_run_with_rows_in_a_html_file_keeps_them(tiny_bert_dir, tiny_task, tmp_path, capsys):
    out = tmp_path / "B" / "rows.html"
    assert cli(tiny_run(tiny_bert_dir, tiny_task, out), capsys)[0] == 0
    assert cli(tiny_run(tiny_bert_dir, tiny_task, out, "--seeds", "0,1", "--resume"), capsys)[0] == 0
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["seed"] for r in got] == [0, 1]
    assert (tmp_path / "B" / "rows.report.html").read_text().startswith("<!DOCTYPE html>")

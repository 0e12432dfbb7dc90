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


# ----------------------------------------------------------------------------- 2: what is written can be read


@pytest.mark.parametrize(
    "extra",
    [
        ["--seeds", "0,18446744073709551616"],
        ["--seeds", "-1"],
        ["--set", "budget.warmup_ratio=nan"],
        ["--set", "budget.weight_decay=inf"],
        ["--set", "params.head_only.lr=-0.001"],
        ["--set", "measure.bootstrap_samples=-1"],
    ],
    ids=lambda a: a[-1],
)
def test_options_a_reader_would_refuse_are_refused_up_front(extra, tiny_bert_dir, tiny_task, tmp_path, capsys):
    out = tmp_path / "poison.jsonl"
    shutil.copy(COMMITTED, out)
    before = out.read_bytes()
    code, err = cli(tiny_run(tiny_bert_dir, tiny_task, out, *extra, "--resume"), capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert out.read_bytes() == before


def test_the_store_writes_no_row_its_readers_refuse(tmp_path, capsys):
    from bench.errors import BenchError
    from bench.rows.store import append_rows, read_rows

    out = tmp_path / "rows.jsonl"
    good = json.loads(COMMITTED.read_text().splitlines()[0])
    append_rows(out, [good])
    with pytest.raises(BenchError, match="beyond 64 bits"):
        append_rows(out, [{**good, "seed": 2**64}])
    assert read_rows(out) == [good]


def test_one_bad_row_is_skipped_by_readers_and_refused_by_resume_and_compare(
    tiny_bert_dir, tiny_task, tmp_path, capsys
):
    lines = COMMITTED.read_text().splitlines()
    bad = json.dumps({**json.loads(lines[3]), "seed": 2**64})
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("\n".join([*lines[:3], bad, *lines[4:]]) + "\n")
    before = mixed.read_bytes()
    for argv in (
        ["report", mixed, "-o", tmp_path / "r.html"],
        ["export", mixed, "-o", tmp_path / "t.csv"],
        ["history", "add", mixed, "--store", tmp_path / "store"],
    ):
        code, err = cli(argv, capsys)
        assert code == 0 and f"{mixed}:4: seed" in err and "1 bad line(s) skipped, 13 rows read" in err, err
    assert len((tmp_path / "t.csv").read_text().splitlines()) == 1 + 13
    assert cli(["compare", mixed, COMMITTED], capsys)[0] == 2
    code, err = cli(tiny_run(tiny_bert_dir, tiny_task, mixed, "--resume"), capsys)
    assert code == 2 and ":4: seed" in err
    assert mixed.read_bytes() == before

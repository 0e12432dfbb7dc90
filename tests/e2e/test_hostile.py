"""Hostile inputs, second round: nothing is written over result rows, what is written can be read back, one
bad row spoils no other, suite names stay in results/runs, serve and switch check their output first.

Each test names the mistake or attack it stands for; each ends in exit 0, 1 or 2 with one line, and the rows
that were there before are there after, byte for byte."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.cli import main
from tests.conftest import is_run_process
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
    code, err = cli(["export", rows, "-o", csv], capsys)  # an export, unlike a report, is kept without --force
    assert code == 2 and "--force" in err
    assert cli(["export", rows, "-o", csv, "--force"], capsys)[0] == 0


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


# ----------------------------------------------------------------------------- 6: a suite's name stays in results/runs


def test_a_suite_name_cannot_leave_results_runs(tiny_bert_dir, tiny_task, tmp_path, capsys, monkeypatch):
    work = tmp_path / "work" / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    suite = tmp_path / "s.yaml"
    suite.write_text("name: ../../../../elsewhere/ESCAPED\nmethods: [head_only]\n")
    argv = ["run", "--suite", suite, "--model", tiny_bert_dir, "--tasks", tiny_task, "--limit", "8", *FAST]
    code, err = cli(argv, capsys)
    assert code == 2 and "suite name" in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.rglob("*ESCAPED*"))


# ----------------------------------------------------------------------------- 7: serve and switch check output first


@pytest.mark.parametrize("command", ["serve", "switch"])
def test_serve_and_switch_refuse_a_bad_output_before_measuring(command, rows, tmp_path, capsys, monkeypatch):
    from bench.switching import fleet

    def no_model(*a, **k):
        raise AssertionError("measured before checking the output")

    monkeypatch.setattr(fleet, "load_backbone", no_model)
    afile = tmp_path / "afile"
    afile.write_text("x")
    extra = ["--model", "shape:llama-3.2-1b", "--device", "cpu"]
    for out in (afile / "rows.jsonl", tmp_path, rows if command == "serve" else None, afile):
        if out is None:
            continue
        before = out.read_bytes() if out.is_file() else None
        code, err = cli([command, *extra, "--output", out], capsys)
        lines = err.strip().splitlines()
        assert code == 2 and lines[-1].startswith("error: ") and len(lines) <= 2, (out, err)
        assert before is None or out.read_bytes() == before


def test_serve_keeps_measured_rows_when_the_late_write_fails(tiny_shape, tmp_path):
    out = tmp_path / "serve.jsonl"
    argv = ["serve", "--model", tiny_shape, "--tasks-n", "2", "--max-batch", "2", "--device", "cpu", "--rank", "2"]
    argv += ["--strategies", "base,merge_swap", "--slo-ms", "5000", "--no-validate", "--set", "sim_requests=100"]
    argv += ["--set", "profile.repeats=1", "--set", "model.layers=1", "--output", str(out)]
    cmd = " ".join(f"'{a}'" for a in argv)
    proc = subprocess.run(
        ["bash", "-c", f"ulimit -f 1; exec '{sys.executable}' -m bench {cmd}"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,  # not the checkout: git, run for the rows' provenance, must not meet the file-size limit there
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    unsaved = [json.loads(x[len("unsaved row: ") :]) for x in proc.stderr.splitlines() if x.startswith("unsaved row: ")]
    assert [r["strategy"] for r in unsaved] == ["base", "merge_swap"]
    assert not out.exists() or out.read_bytes() == b""


# ----------------------------------------------------------------------------- 9: one lock per file, through links


def test_a_link_to_a_locked_file_is_refused(tiny_bert_dir, tiny_task, tmp_path, capsys):
    from bench.rows.store import locked

    real = tmp_path / "rows.jsonl"
    shutil.copy(COMMITTED, real)
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    before = real.read_bytes()
    with locked(real):
        code, err = cli(tiny_run(tiny_bert_dir, tiny_task, link, "--resume"), capsys)
    assert code == 2 and "being written by another run" in err
    assert real.read_bytes() == before


# ----------------------------------------------------------------------------- 5: no formulas in CSV cells


def test_export_and_the_report_csv_quote_formulas(rows, tmp_path, capsys):
    import base64
    import csv
    import io
    import re

    from bench.render.appendix import csv_data_uri

    evil = [
        {**r, "task": '=HYPERLINK("http://evil","x")', "=cmd|' /C calc'!A0": "@SUM(1)"}
        for r in map(json.loads, rows.read_text().splitlines())
    ]
    rows.write_text("".join(json.dumps(r) + "\n" for r in evil))
    out = tmp_path / "t.csv"
    assert cli(["export", rows, "-o", out], capsys)[0] == 0
    embedded = base64.b64decode(re.sub("^data:[^,]*,", "", csv_data_uri(evil))).decode()
    for text in (out.read_text(), embedded):
        cells = [c for line in csv.reader(io.StringIO(text)) for c in line]
        assert not [c for c in cells if c[:1] in ("=", "+", "@")], text[:300]
        assert '\'=HYPERLINK("http://evil","x")' in cells and "'=cmd|' /C calc'!A0" in cells


# ----------------------------------------------------------------------------- 10: signals, markdown, CSP, locks


def slow_suite(tiny_bert_dir, tmp_path) -> tuple[list, Path]:
    from tests.conftest import write_tiny_task

    slow = write_tiny_task(tmp_path / "tasks", name="tiny_slow")
    out = tmp_path / "rows.jsonl"
    args = ["--model", tiny_bert_dir, "--tasks", slow, "--methods", "head_only", "--limit", "16", "--output", out]
    return [*args, "--set", "task_budget.tiny_slow.epochs=100000", "--tasks-dir", tmp_path / "tasks", *FAST], out


def spawned_run(pid: int, limit_s: float = 60) -> bool:
    import psutil

    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        try:
            if any(is_run_process(c) for c in psutil.Process(pid).children(recursive=True)):
                return True
        except psutil.NoSuchProcess:  # the suite itself has exited
            return False
        time.sleep(0.01)
    return False


@pytest.mark.parametrize("when", ["sigterm-while-training", "ctrl-c-while-the-child-starts"])
def test_sigterm_and_an_early_ctrl_c_record_cancelled_without_a_traceback(when, tiny_bert_dir, tmp_path):
    from bench.rows.store import read_rows
    from tests.e2e.test_resume import start_suite

    args, out = slow_suite(tiny_bert_dir, tmp_path)
    proc = start_suite(args, tmp_path)
    try:
        assert spawned_run(proc.pid)
        if when.startswith("sigterm"):
            time.sleep(3)
            os.kill(proc.pid, signal.SIGTERM)  # as a job scheduler stops a job: the parent only
        else:  # while the child imports what a run needs
            time.sleep(0.5)
            os.killpg(proc.pid, signal.SIGINT)  # as a terminal sends Ctrl-C: to the child as well
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    err = proc.stderr.read().decode()
    assert proc.returncode == 130 and "Traceback" not in err, err[-3000:]
    assert [r["status"] for r in read_rows(out)] == ["cancelled"]


def test_compare_markdown_escapes_table_syntax_and_control_characters(rows, tmp_path, capsys):
    evil = [{**r, "task": "t | x |\n| fake | row |\x1b[31m"} for r in map(json.loads, rows.read_text().splitlines())]
    rows.write_text("".join(json.dumps(r) + "\n" for r in evil))
    capsys.readouterr()
    main(["compare", str(rows), str(rows)])
    out = capsys.readouterr().out
    table = [line for line in out.splitlines() if line.startswith("|")]
    cells = table[0].count(" | ") if table else 0  # as many cells as the header, no more
    assert table and all(line.count(" | ") == cells for line in table[2:]), out[:1000]
    assert "\x1b" not in out and "| fake | row |" not in out


def test_the_history_report_carries_the_reports_csp(rows, tmp_path, capsys):
    from bench.render import CSP
    from bench.render.explorer import csp

    assert main(["history", "add", str(rows), "--store", str(tmp_path / "s")]) == 0
    assert main(["history", "report", "--store", str(tmp_path / "s"), "-o", str(tmp_path / "h.html")]) == 0
    assert main(["report", str(rows), "-o", str(tmp_path / "r.html")]) == 0
    # the report's policy is the same with its explorer's one script allowed by hash
    for page, policy in (("h.html", CSP), ("r.html", csp())):
        assert f'<meta http-equiv="Content-Security-Policy" content="{policy}">' in (tmp_path / page).read_text()


def test_an_exit_2_inside_the_lock_leaves_no_lock_file(tiny_bert_dir, tiny_task, tmp_path, capsys, monkeypatch):
    from bench.errors import BenchError
    from bench.execute import launch

    def mismatch(specs):
        raise BenchError("checksum mismatch for x.whl: expected sha256 a, got b; the file was discarded")

    monkeypatch.setattr(launch, "prepare", mismatch)
    out = tmp_path / "v.jsonl"
    assert cli(tiny_run(tiny_bert_dir, tiny_task, out), capsys)[0] == 2
    assert not list(tmp_path.glob("v.jsonl*"))


@pytest.mark.parametrize("argv", [["--slo-ms", "inf"], ["--cv", "nan"], ["--tasks-n", "99999999999"]])
def test_serve_refuses_numbers_no_row_could_hold(argv, tmp_path, capsys, monkeypatch):
    from bench.switching import fleet

    monkeypatch.setattr(fleet, "load_backbone", lambda *a, **k: pytest.fail("measured"))
    code, err = cli(["serve", *argv, "--model", "shape:llama-3.2-1b", "--output", tmp_path / "s.jsonl"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1

"""One report from many files: every file's rows together, a run id once, each file named in the provenance,
and rows of different files or settings never taken for one series."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.cli import main
from bench.render.outline import serving_decision
from bench.render.serving import serving_section
from bench.rows.sources import combine
from bench.rows.store import read_rows

SERVING = Path(__file__).resolve().parents[2] / "results" / "serving"


def test_combine_keeps_every_row_once_and_names_its_file():
    a = [{"run_id": "1", "x": 1}, {"run_id": "2", "x": 2}]
    b = [{"run_id": "2", "x": 20}, {"run_id": "3", "x": 3}]
    rows = combine([("a.jsonl", a), ("b.jsonl", b)])
    assert [(r["run_id"], r["x"], r["source"]) for r in rows] == [
        ("1", 1, "a.jsonl"),
        ("2", 2, "a.jsonl"),
        ("3", 3, "b.jsonl"),
    ]
    assert combine([("a.jsonl", a)]) == a  # one file: its rows unchanged
    assert "source" not in a[0]  # the rows read are not changed


def test_report_of_several_files_holds_all_their_rows(tmp_path, capsys):
    files = [SERVING / "serve-cpu.jsonl", SERVING / "serve-cpu-quiet.jsonl", SERVING / "serve-cpu.jsonl"]
    out = tmp_path / "r.html"
    assert main(["report", *map(str, files), "-o", str(out)]) == 0
    html = out.read_text()
    n = len(read_rows(files[0])) + len(read_rows(files[1]))
    assert f'<p class="meta">{n} rows, {n} ok' in html  # the repeated file's rows once
    prov = re.sub(r"<[^>]+>", " ", re.search(r'<table class="provenance">.*?</table>', html, re.S).group(0))
    assert f"{files[0]} (7 rows); {files[1]} (7 rows)" in prov
    assert 'id="history"' not in html  # serve rows have no history panel
    table = re.search(r'<table class="serving">.*?</table>', html, re.S).group(0)
    assert table.count(f"source={files[0]}") == 7 and table.count(f"source={files[1]}") == 7


def test_rows_that_differ_in_a_setting_are_labelled_apart():
    rows = combine([(f.name, read_rows(f)) for f in (SERVING / "serve-cpu.jsonl", SERVING / "serve-cpu-quiet.jsonl")])
    tuned = [
        {**r, "source": None, "slo_rule": "p99 <= 2.0 x base"} if r["source"] == "serve-cpu.jsonl" else r for r in rows
    ]
    for given, setting in ((rows, "source=serve-cpu.jsonl"), (tuned, "slo_rule=p99 <= 2.0 x base")):
        sentences = serving_decision(given)
        assert len(sentences) == 2 and sum(setting in s for s in sentences) == 1
        labels = {(r["strategy"], r["setting"]) for r in serving_section(given)["rows"]}
        assert len(labels) == 14  # no two rows of one strategy share a label


def test_runs_of_two_models_are_two_series():
    from bench.analysis import aggregate as agg
    from tests.render.test_html import run_row

    rows = combine(
        [("a.jsonl", [run_row(seed=0)]), ("b.jsonl", [{**run_row(seed=0), "run_id": "x", "model": "other"}])]
    )
    labels = sorted(rec["label"] for rec in agg.group(rows).values())
    assert labels == ["lora (model=minilm)", "lora (model=other)"]
    same = combine([("a.jsonl", [run_row(seed=0)]), ("b.jsonl", [{**run_row(seed=1), "run_id": "y"}])])
    assert [rec["n"] for rec in agg.group(same).values()] == [2]  # same settings from two files: seeds of one


@pytest.mark.parametrize(
    "setting, value, shown",
    [
        ("layers", 1, "(1 layer)"),
        ("dtype", "bfloat16", "dtype=bfloat16"),
        ("slo_rule", "p99 <= 2.0 x base", "slo_rule=p99 <= 2.0 x base"),
        ("popularity", "uniform", "popularity=uniform"),
        ("arrivals", "gamma", "arrivals=gamma"),
        ("tokens_per_request", 64, "tokens_per_request=64"),
    ],
)
def test_a_copy_that_differs_in_one_setting_is_a_series_of_its_own_named_by_it(setting, value, shown):
    """The rows of one file and a copy differing in one setting only (layers, dtype, SLO rule, workload), with
    no file to tell them apart: two decisions and two table rows per strategy, the copy's named by the setting."""
    rows = read_rows(SERVING / "serve-cpu.jsonl")
    copy = [{**r, "run_id": r["run_id"] + "-copy", setting: value} for r in rows]
    sentences = serving_decision(rows + copy)
    assert len(sentences) == 2 and sum(shown in s for s in sentences) == 1, sentences
    table = serving_section(rows + copy)["rows"]
    labels = {(r["strategy"], r["model"], r["setting"]) for r in table}
    assert len(table) == len(labels) == 2 * len(rows)  # no two rows share a label
    assert sum(shown in f"{r['model']} {r['setting']}" for r in table) == len(rows)


@pytest.mark.parametrize("setting, value", [("layers", 1), ("dtype", "bfloat16"), ("slo_rule", "2 x base")])
def test_a_figure_over_rows_that_differ_in_a_setting_names_the_one_it_draws(setting, value):
    """Rows of two settings: each serving figure draws one of them, and its title says which (once alone, a
    file's figures keep their short titles)."""
    rows = read_rows(SERVING / "serve-cpu.jsonl")
    copy = [{**r, "run_id": r["run_id"] + "-copy", setting: value} for r in rows]
    for given, named in ((rows + copy, True), (rows, False)):
        for caption, svg in serving_section(given)["figures"]:
            title = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", svg))
            assert (f"{setting}=" in title) == named, (caption, title)

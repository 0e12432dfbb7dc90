"""The report's serving section, from the committed `serve` rows."""

from __future__ import annotations

from pathlib import Path

from bench.render.html import context, write_report
from bench.rows.store import read_rows

SERVE = Path(__file__).resolve().parents[2] / "results" / "serving" / "serve-cpu.jsonl"


def test_serve_rows_get_their_section_with_figures_and_a_row_per_strategy_and_n(tmp_path):
    rows = read_rows(SERVE)
    section = context(rows)["serving"]
    ok = [r for r in rows if r.get("kind") == "serve" and r.get("status") == "ok"]
    assert len(section["rows"]) == len(ok) > 0
    assert {(r["strategy"], r["n_tasks"]) for r in section["rows"]} == {(r["strategy"], r["n_tasks"]) for r in ok}
    assert len(section["figures"]) == 2 and all(
        svg.lstrip().startswith("<svg") or "<svg" in svg for _, svg in section["figures"]
    )
    html = write_report(rows, tmp_path / "serve.html").read_text()
    assert 'id="serving"' in html and "requests/s at the SLO" in html


def test_a_report_without_serve_rows_has_no_serving_section(tmp_path):
    from tests.render.test_html import ROWS

    assert context(ROWS)["serving"] is None
    assert 'id="serving"' not in write_report(ROWS, tmp_path / "r.html").read_text()

"""The report's deployment section: present with runs and serve rows of one model, absent otherwise."""

from __future__ import annotations

from bench.render.deploy import deploy_section
from bench.render.html import render
from tests.serving.test_deploy import rows, serve_row


def test_one_table_per_served_n_with_the_fastest_of_the_most_accurate_marked():
    s = deploy_section(rows())
    assert [t["n"] for t in s["tables"]] == [16, 64]
    assert s["tables"][0]["chosen"] == "lora + gathered_lora"
    assert sum(r["recommended"] for r in s["tables"][0]["rows"]) == 1


def test_no_section_without_serve_rows_or_across_models():
    assert deploy_section(rows(served={})) is None
    assert deploy_section(rows(served={}) + [serve_row("base", 16, 30.0, model="minilm")]) is None


def test_the_report_shows_it():
    html = render(rows())
    assert 'id="deploy"' in html and html.count('<table class="deploy"') == 2

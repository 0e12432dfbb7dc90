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


def test_the_section_says_what_it_left_out_and_what_it_assumed():
    from tests.serving.test_deploy import ROSE, answers, run_row

    rs = [dict(r, loss_curve=ROSE) if r.get("method") == "prompt_tuning" else r for r in rows()]
    html = render(rs + [run_row("full", answers(345))])
    assert "Left out: prompt_tuning seed 0 (run-prompt_tuning): flagged by the health checks" in html
    assert "Assumed, not served: N = 16: no serve row serves 16 model copies" in html


def test_the_served_model_is_found_among_rows_of_several_models():
    other = [run_row_of("lora", "minilm"), serve_row("base", 16, 30.0, model="shape:llama-3.2-1b", weights="random")]
    s = deploy_section(rows() + other)
    assert s["model"] == "smollm2-135m" and [t["n"] for t in s["tables"]] == [16, 64]


def run_row_of(method, model):
    from tests.serving.test_deploy import answers, run_row

    return run_row(method, answers(300), model=model, run_id=f"run-{model}")

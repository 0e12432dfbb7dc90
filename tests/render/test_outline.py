"""Every kind of results file reads right: it opens with its own decision, leaves out the sections it has
nothing for, and its navigation links exactly the sections present."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.render.html import render
from bench.render.outline import serving_decision, switching_decision
from bench.rows.schema import kind_of
from bench.rows.store import read_rows
from tests.render.test_html import ROWS, SWITCH, run_row

RESULTS = sorted((Path(__file__).resolve().parents[2] / "results").glob("*/*.jsonl"))
EMPTY = (  # said of a section the file has nothing for (a file whose every run the health checks flag says so instead)
    "No run finished ok",
    "No healthy ok run to choose from.",
    "Not measured in this run",
)


def sections(html: str) -> tuple[list[str], list[str]]:
    """(the ids of the page's sections, the sections its navigation links), in order."""
    nav = re.search(r"<nav>(.*?)</nav>", html, re.S).group(1)
    return re.findall(r'<section id="([^"]+)"', html), re.findall(r'href="#([^"]+)"', nav)


def headline_text(html: str) -> str:
    body = re.search(r'<section id="headline".*?</section>', html, re.S).group(0)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


@pytest.mark.parametrize("path", RESULTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_committed_file_reads_right(path):
    rows = read_rows(path)
    html = render(rows)
    ids, nav = sections(html)
    assert ids == nav and len(set(ids)) == len(ids)
    assert not any(s in html for s in EMPTY)
    kinds = {kind_of(r) for r in rows}
    if kinds == {"serve"}:
        assert ids[:2] == ["headline", "serving"]  # no choice of method, no empty table or Pareto panel
        assert "the highest rate within the SLO is" in headline_text(html)
    if "run" not in kinds or not any(r.get("accuracy") is not None for r in rows):
        assert "pareto" not in ids and "decide" not in ids
    if not any(r.get("status", "ok") != "ok" for r in rows):
        assert "Failed, OOM and unsupported runs" not in html or 'class="warnings"' in html


def serve(strategy, rate, vs_base, n=64, **over):
    row = {"kind": "serve", "status": "ok", "run_id": f"s-{strategy}-{n}", "model": "m", "layers": 2}
    row.update(strategy=strategy, n_tasks=n, rank=16, slo_ms=1000.0, rate_at_slo_rps=rate, rate_vs_base=vs_base)
    return {**row, **over}


def test_serving_decision_names_the_best_rate_against_base_with_its_error():
    rows = [
        serve("base", 2.0, 1.0),
        serve("gathered_lora", 3.0, 1.5, sim_p99_err_pct=-12.0, sim_p99_requests=200),
        serve("merge_swap", 0.5, 0.25),
    ]
    (sentence,) = serving_decision(rows)
    assert sentence == (
        "m (2 layers), r=16, N=64, SLO p99 1000 ms: the highest rate within the SLO is gathered_lora's, "
        "3.00 requests/s, 1.50x the base model's (simulation p99 error -12 %). "
        "The others against the base model: merge_swap 0.25x."
    )
    # two fleets that differ in a setting: each sentence names it
    two = rows + [serve(s, r, v, dtype="bf16") for s, r, v in (("base", 4.0, 1.0), ("merge_swap", 1.0, 0.25))]
    two = [{**r, "dtype": r.get("dtype", "fp32")} for r in two]
    first, second = serving_decision(two)
    assert (
        "dtype=fp32" in first and "dtype=bf16" in second and "is base's, 4.00 requests/s (p99 not validated)" in second
    )
    many = [serve("base", 1.0, 1.0, n=n) for n in range(1, 8)]  # seven fleets: four sentences, then where the rest are
    assert serving_decision(many)[4:] == ["3 more in Serving under load below."]


def test_switch_only_rows_open_with_the_switching_decision():
    html = render(SWITCH)
    ids, nav = sections(html)
    assert ids == nav and ids[:2] == ["headline", "switching"]
    assert not any(s in html for s in EMPTY)
    text = headline_text(html)
    assert "minilm, N = 1, batch 8, uniform / shuffled, short inputs: merge_swap is the fastest of 3" in text
    assert (
        "N = 4, batch 8, uniform / shuffled, short inputs: mixed_prompt_batch is the fastest of 3 strategies at "
        in (text)
    )
    assert len(switching_decision(SWITCH)) == 2


def test_run_rows_keep_their_sections_and_a_failed_only_file_says_so():
    ids, nav = sections(render(ROWS + SWITCH))
    assert ids == nav and {"decide", "table", "pareto", "switching", "failures"} <= set(ids)
    assert "serving" not in ids
    html = render([run_row(status="failed", error="boom")])
    ids, nav = sections(html)
    assert ids == nav and "failures" in ids and "pareto" not in ids and "decide" not in ids
    assert "No run finished ok: see the failed runs below." in headline_text(html)

"""Claims only from healthy runs: a run the health checks flag supports no verdict."""

from __future__ import annotations

from pathlib import Path

from bench.analysis import health
from bench.analysis.claims import NEEDS, NOT_MEASURED, assess
from bench.config import load_suite
from bench.render.html import render
from bench.render.sections import claims_section, numbers_text
from bench.rows.store import read_rows
from tests.render.test_html import ROWS

ROOT = Path(__file__).resolve().parents[2]


def fewer_params(rows):
    return next(c for c in assess(rows) if c.number == 3)


def test_a_flagged_run_cannot_support_a_verdict():
    healthy = fewer_params(ROWS)
    assert healthy.verdict != NOT_MEASURED and not any("health checks" in e for e in healthy.evidence)
    one_class = {"label_counts": [50, 50], "pred_counts": [100, 0]}  # answers one class for every example
    rows = [{**r, **one_class} if r.get("method") == "lora" else r for r in ROWS]
    flagged = fewer_params(rows)
    assert flagged.verdict == NOT_MEASURED
    assert any("runs the health checks flag were left out" in e for e in flagged.evidence)


def test_a_flagged_sweep_point_does_not_take_the_selected_run_with_it():
    """Flagged runs are left out run by run: a diverged rate of LoRA on seed 0 leaves LoRA's selected run of
    seed 0 in the evidence (the committed llm_rt rows have such a point)."""
    sweep = {"lr_sweep": [3e-3, 3e-2]}
    picked = {**ROWS[0], **sweep, "val_accuracy": 0.72}
    diverged = {**picked, "run_id": "diverged", "method_params": {"lr": 3e-2}, "val_accuracy": 0.5}
    diverged["loss_curve"] = [0.5] * 20 + [0.9] * 20
    rows = [picked, diverged, *ROWS[1:]]
    assert len(health.warnings(rows)) == 1 and diverged not in health.healthy(rows)
    assert picked in health.healthy(rows)
    c = fewer_params(rows)
    assert c.verdict == fewer_params(ROWS).verdict and not any("health checks" in e for e in c.evidence)


def test_the_committed_smoke_rows_support_no_verdict():
    """12 steps teach no method the task: every smoke run answers one class. Rows from before the class
    counts show it in accuracy and macro-F1; no claim and no choice may read them."""
    rows = read_rows(ROOT / "results" / "baselines" / "cpu-amd-epyc-2c" / "smoke.jsonl")
    assert len(health.warnings(rows)) == len(rows) == 4
    assert {c.verdict for c in assess(rows)} == {NOT_MEASURED}
    html = render(rows)
    assert 'data-verdict="' not in html and "4 runs the health checks flag were left out" in html
    assert "No healthy ok run to choose from" in html


def test_each_need_names_a_shipped_suite_that_writes_those_rows():
    """NEEDS is data; the suites it names must run the methods (and switching sweep) the claims read."""
    assert set(NEEDS) == {c.number for c in assess(ROWS)} == set(range(1, 8))
    for need in set(NEEDS.values()):
        suite = load_suite(need.suite)
        assert set(need.methods) <= set(suite.methods), (need, suite.methods)
        assert not need.switch or suite.switch, need
    assert NEEDS[4] == NEEDS[5] == NEEDS[6] and NEEDS[4].switch and "full" in NEEDS[1].methods


def test_unmeasured_claims_collapse_into_one_line_per_need():
    assert numbers_text([3]) == "claim 3" and numbers_text([1, 2]) == "claims 1, 2"
    assert numbers_text([4, 5, 6, 1]) == "claims 1, 4-6" and numbers_text([1, 2, 3, 5, 7]) == "claims 1-3, 5, 7"
    section = claims_section(ROWS)
    assert [c.number for c in section["measured"]] == [3, 7]
    assert [g["claims"] for g in section["unmeasured"]] == [[1, 2], [4, 5, 6]]
    assert section["unmeasured"][1]["switch"] and "merge_swap" in section["unmeasured"][1]["evidence"]

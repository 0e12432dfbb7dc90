"""Claims only from healthy runs: a run the health checks flag supports no verdict."""

from __future__ import annotations

from bench.analysis.claims import NOT_MEASURED, assess
from tests.test_report import ROWS


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

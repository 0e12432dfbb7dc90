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
    assert len(section["figures"]) >= 2 and all(
        svg.lstrip().startswith("<svg") or "<svg" in svg for _, svg in section["figures"]
    )
    html = write_report(rows, tmp_path / "serve.html").read_text()
    assert 'id="serving"' in html and "requests/s at the SLO" in html


def test_a_report_without_serve_rows_has_no_serving_section(tmp_path):
    from tests.render.test_html import ROWS

    assert context(ROWS)["serving"] is None
    assert 'id="serving"' not in write_report(ROWS, tmp_path / "r.html").read_text()


def _serve(strategy: str, n: int = 64, rank: int = 16, model: str = "shape:a", hidden: int = 64, **over) -> dict:
    """A serve row whose costs grow with N, rank and hidden size, and whose batches cost less per request."""
    mixed = strategy != "merge_swap"
    full = (100.0 if strategy == "base" else 100.0 + rank + n / 64) * hidden / 64
    return {
        "kind": "serve",
        "status": "ok",
        "strategy": strategy,
        "mixed": mixed,
        "model": model,
        "layers": 2,
        "dtype": "fp32",
        "hidden_size": hidden,
        "rank": rank,
        "n_tasks": n,
        "rate_at_slo_rps": 1000 / full,
        "rate_vs_base": 100 / full * hidden / 64,
        "batch_ms_full": full,
        "service_ms": {f"{b},{min(b, n) if mixed else 1}": full * (0.5 + b / 64) for b in (1, 8, 32)},
        "adapter_bytes_resident": 0 if strategy == "base" else n * rank * 1024,
        "slo_ms": 400.0,
        "curve": [{"rate_rps": 1.0, "p99_ms": 20.0}, {"rate_rps": 2.0, "p99_ms": 300.0}],
        **over,
    }


def test_scaling_panels_each_vary_one_setting_and_hold_the_rest():
    from bench.analysis.fleets import widest_group
    from bench.render.serving import latency_curve_figure, rate_at_slo_figure, scaling_figure

    rows = [_serve(s, n=n) for s in ("base", "gathered_lora") for n in (16, 64, 256)]
    rows += [_serve(s, rank=r) for s in ("base", "gathered_lora") for r in (8, 64)]
    rows += [_serve(s, model="shape:b", hidden=h) for s in ("base", "gathered_lora") for h in (128, 256)]
    group, fixed = widest_group(rows, "n_tasks")
    assert {r["n_tasks"] for r in group} == {16, 64, 256} and fixed["rank"] == 16 and fixed["model"] == "shape:a"
    group, fixed = widest_group(rows, "rank")
    assert {r["rank"] for r in group} == {8, 16, 64} and fixed["n_tasks"] == 64
    group, _ = widest_group(rows, "hidden_size")  # shape:a at 64 and shape:b at 128 and 256: one model per width
    assert {r["hidden_size"] for r in group} == {64, 128, 256}
    assert widest_group(rows[:2], "rank") == ([], {})  # one rank only: no panel
    svg = scaling_figure(rows)
    for label in ("batch size", "LoRA rank", "hidden size", "resident adapters (MiB)"):
        assert label in svg, label
    assert "mathdefault" not in svg and ">256<" in svg  # log axes read as plain numbers
    assert "LoRA rank" not in scaling_figure([r for r in rows if r["rank"] == 16])
    assert rate_at_slo_figure(rows).startswith("<svg") and latency_curve_figure(rows).startswith("<svg")
    assert rate_at_slo_figure([{"kind": "switch"}]) == "" and latency_curve_figure([]) == ""

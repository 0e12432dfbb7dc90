"""Figures of `serve` rows for the report (the integrator places them): the highest rate at the
SLO per strategy against the number of tasks, and simulated latency against offered rate."""

from __future__ import annotations

from bench.render.figures import _plt, to_svg
from bench.serving import STRATEGIES


def serve_rows(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r.get("kind") == "serve" and r.get("status") == "ok"]


def rate_at_slo_figure(rows: list[dict]) -> str:
    """Requests per second at the SLO, one line per strategy, against N (log scale). "" without rows."""
    rows = serve_rows(rows)
    if not rows:
        return ""
    plt, _ = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for s in [s for s in STRATEGIES if any(r["strategy"] == s for r in rows)]:
        pts = sorted((r["n_tasks"], r["rate_at_slo_rps"]) for r in rows if r["strategy"] == s)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=s)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("tasks (adapters) N")
    ax.set_ylabel("requests/s at the SLO")
    ax.set_title(f"highest rate with p99 latency <= {rows[0]['slo_ms']:.0f} ms")
    ax.legend(fontsize=7, ncol=2)
    return to_svg(fig)


def latency_curve_figure(rows: list[dict]) -> str:
    """Simulated p99 latency against offered rate (the rows' `curve`), one line per strategy."""
    rows = [r for r in serve_rows(rows) if r.get("curve")]
    if not rows:
        return ""
    plt, _ = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for r in rows:
        pts = sorted((c["rate_rps"], c["p99_ms"]) for c in r["curve"])
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=".", label=f"{r['strategy']} N={r['n_tasks']}")
    ax.axhline(rows[0]["slo_ms"], color="grey", linestyle="--", linewidth=1)
    ax.set_yscale("log")
    ax.set_xlabel("offered rate (requests/s)")
    ax.set_ylabel("p99 latency (ms)")
    ax.legend(fontsize=7, ncol=2)
    return to_svg(fig)

"""The report's serving section, from `serve` rows (pure but for matplotlib): the highest rate at the SLO
per strategy against the number of tasks, simulated latency against offered rate, and the table."""

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


def serving_section(rows: list[dict]) -> dict | None:
    """The report's "Serving under load" section; None without ok serve rows."""
    ok = serve_rows(rows)
    if not ok:
        return None
    figs = [
        ("Highest request rate that meets the SLO, per strategy", rate_at_slo_figure(ok)),
        ("Simulated p99 latency against the offered rate", latency_curve_figure(ok)),
    ]
    table = [
        {
            "strategy": r["strategy"],
            "n_tasks": r["n_tasks"],
            "model": r.get("model", "-"),
            "rate": r.get("rate_at_slo_rps"),
            "vs_base": r.get("rate_vs_base"),
            "vs_merge_swap": r.get("rate_vs_merge_swap"),
            "slo_ms": r.get("slo_ms"),
        }
        for r in sorted(
            ok, key=lambda r: (r["n_tasks"], STRATEGIES.index(r["strategy"]) if r["strategy"] in STRATEGIES else 99)
        )
    ]
    return {"figures": [(c, svg) for c, svg in figs if svg], "rows": table}

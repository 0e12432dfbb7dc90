"""The report's serving section, from `serve` rows (pure but for matplotlib): the highest rate at the SLO per
strategy against the number of tasks, how each cost grows with N, batch size, rank and hidden size, simulated
latency against offered rate, and the table.

Rows of several serve runs can differ in model, rank, N and more. A panel varies one thing and holds the rest
fixed: it takes the group of rows (equal in every other setting) in which that thing takes the most values,
and says in its title what it held fixed. Costs are shown relative to the base model on the same fleet, so
runs whose machines ran at different speeds still compare."""

from __future__ import annotations

from bench.analysis.fleets import (
    MAX_P99_ERR_PCT,
    P99_REQUESTS,
    fleet_key,
    reference_fleet,
    serve_rows,
    validation,
    widest_group,
)
from bench.options import SERVE_STRATEGIES
from bench.render.figures import legend_below, legend_right, log_scale, method_gid, panel_grid, pyplot, to_svg, wrap
from bench.render.outline import NAMED_APART, model_label, serve_differing
from bench.render.palette import colour


def _held(fixed: dict, differ: list[str], *keys: str) -> str:
    """A panel's title: the settings it holds, and every setting that differs across the rows (layers, dtype,
    SLO rule, workload, file) at the value this panel holds, so two panels of different settings never share a
    title."""
    names = {"n_tasks": "N", "rank": "r", "hidden_size": "hidden", "model": ""}
    keys = tuple(dict.fromkeys(keys + tuple(k for k in differ if k != "slo_ms") + ("source",)))
    parts = [f"{names.get(k, k)}{'=' if names.get(k, k) else ''}{fixed[k]}" for k in keys if fixed.get(k) is not None]
    return ", ".join(parts)


def _base_cost(rows: list[dict], field: str) -> dict:
    """The base model's value of `field` for each fleet (every setting but the strategy)."""
    return {fleet_key(r): r.get(field) for r in rows if r["strategy"] == "base"}


def _vs_base(row: dict, base: dict, field: str) -> float | None:
    ref = base.get(fleet_key(row))
    return row[field] / ref if ref and row.get(field) is not None else None


def strategies(rows: list[dict]) -> list[str]:
    """The strategies in the rows, in SERVE_STRATEGIES order (unknown ones last)."""
    seen = {r["strategy"] for r in rows}
    return [s for s in SERVE_STRATEGIES if s in seen] + sorted(seen - set(SERVE_STRATEGIES))


def _line_panel(ax, rows: list[dict], x: str, y, log_x: int = 0) -> None:
    for s in strategies(rows):
        pts = sorted((r[x], y(r)) for r in rows if r["strategy"] == s and y(r) is not None)
        if pts:
            (line,) = ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=4, label=s, color=colour(s))
            line.set_gid(method_gid(s))
    if log_x:
        log_scale(ax, "x", log_x)


def rate_at_slo_figure(rows: list[dict]) -> str:
    """Requests per second at the SLO relative to the base model on the same fleet, one line per strategy,
    against N (log scale). "" when no group of rows spans two values of N."""
    group, fixed = widest_group(serve_rows(rows), "n_tasks")
    differ = serve_differing(serve_rows(rows))
    if not group:
        return ""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.4, 3.3))
    _line_panel(ax, group, "n_tasks", lambda r: r.get("rate_vs_base"), log_x=2)
    ax.axhline(1.0, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("tasks (adapters) N (count)")
    ax.set_ylabel("rate at the SLO / base model's (ratio)")
    ax.set_title(wrap(_held(fixed, differ, "model", "rank", "popularity"), 60), fontsize=9)
    legend_right(ax)
    return to_svg(fig)


def scaling_figure(rows: list[dict]) -> str:
    """How each cost grows: ms per request against batch size; a full batch's time relative to the base model
    against rank and against hidden size; resident adapter memory against N. A panel without two values of
    its setting is left out; "" without any."""
    ok = serve_rows(rows)
    differ = serve_differing(ok)
    full = _base_cost(ok, "batch_ms_full")
    panels = []
    same, fixed = reference_fleet(ok)
    if any(len(r.get("service_ms") or {}) > 1 for r in same):
        panels.append(("batch", same, fixed))
    for vary in ("rank", "hidden_size", "n_tasks"):
        group, fixed = widest_group(ok, vary)
        if group:
            panels.append((vary, group, fixed))
    if not panels:
        return ""
    plt = pyplot()
    fig, axes = panel_grid(plt, len(panels), 4.4, 3.2)
    for ax, (what, group, fixed) in zip(axes, panels):
        if what == "batch":
            for s in strategies(group):
                r = next(r for r in group if r["strategy"] == s)
                pts = sorted(
                    (b, ms / b) for b, ms in _full_distinct(r.get("service_ms") or {}, r["n_tasks"], r["mixed"])
                )
                (line,) = ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=4, label=s, color=colour(s))
                line.set_gid(method_gid(s))
            log_scale(ax, "x", 2)
            log_scale(ax, "y")
            ax.set(xlabel="batch size (requests)", ylabel="ms per request (service)")
            ax.set_title(wrap(_held(fixed, differ, "model", "rank", "n_tasks"), 44), fontsize=8.5)
        elif what == "n_tasks":
            mib = lambda r: r["adapter_bytes_resident"] / 2**20 if r.get("adapter_bytes_resident") else None  # noqa: E731
            _line_panel(ax, group, "n_tasks", mib, 2)
            log_scale(ax, "y", 2)
            ax.set(xlabel="tasks (adapters) N (count)", ylabel="resident adapters (MiB)")
            ax.set_title(wrap(_held(fixed, differ, "model", "rank"), 44), fontsize=8.5)
        else:
            _line_panel(ax, group, what, lambda r: _vs_base(r, full, "batch_ms_full"), 2 if what == "rank" else 0)
            ax.axhline(1.0, color="grey", linestyle=":", linewidth=1)
            xlabel = "LoRA rank (r)" if what == "rank" else "hidden size (units)"
            ax.set(xlabel=xlabel, ylabel="full batch time / base model's (ratio)")
            held = ("model", "n_tasks") if what == "rank" else ("rank", "n_tasks", "layers")
            ax.set_title(wrap(_held(fixed, differ, *held), 44), fontsize=8.5)
    seen = {}  # every strategy of every panel, once (a panel may lack one: base holds no adapter bytes)
    for ax in axes:
        seen.update(zip(*reversed(ax.get_legend_handles_labels())))
    fig.tight_layout()
    legend_below(fig, list(seen.values()), list(seen), ncol=4)
    return to_svg(fig)


def _full_distinct(service_ms: dict, n: int, mixed: bool) -> list[tuple[int, float]]:
    """(batch size, ms) at as many distinct adapters as the batch can hold (one for a one-at-a-time strategy)."""
    by_size: dict[int, tuple[int, float]] = {}
    for key, ms in service_ms.items():
        b, d = (int(x) for x in key.split(","))
        want = min(b, n) if mixed else 1
        if abs(d - want) < abs(by_size.get(b, (10**9, 0))[0] - want):
            by_size[b] = (d, ms)
    return [(b, ms) for b, (_, ms) in by_size.items()]


def latency_curve_figure(rows: list[dict]) -> str:
    """Simulated p99 latency against offered rate (the rows' `curve`) on one fleet, one line per strategy."""
    differ = serve_differing(serve_rows(rows))
    rows, fixed = reference_fleet([r for r in serve_rows(rows) if r.get("curve")])
    if not rows:
        return ""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.4, 3.3))
    for r in rows:
        pts = sorted((c["rate_rps"], c["p99_ms"]) for c in r["curve"])
        (line,) = ax.plot(
            [p[0] for p in pts], [p[1] for p in pts], marker=".", label=r["strategy"], color=colour(r["strategy"])
        )
        line.set_gid(method_gid(r["strategy"]))
    ax.axhline(rows[0]["slo_ms"], color="grey", linestyle="--", linewidth=1)
    ax.set_title(wrap(f"{_held(fixed, differ, 'model', 'rank', 'n_tasks')}; dashed: the SLO", 60), fontsize=9)
    log_scale(ax, "y")
    ax.set_xlabel("offered rate (requests/s)")
    ax.set_ylabel("p99 latency (ms)")
    legend_right(ax)
    return to_svg(fig)


def serving_section(rows: list[dict]) -> dict | None:
    """The report's "Serving under load" section; None without ok serve rows."""
    ok = serve_rows(rows)
    if not ok:
        return None
    figs = [
        ("Highest request rate that meets the SLO, relative to the base model, against N", rate_at_slo_figure(ok)),
        ("How each cost grows: batch size, rank, hidden size, number of tasks", scaling_figure(ok)),
        ("Simulated p99 latency against the offered rate", latency_curve_figure(ok)),
    ]
    order = {s: i for i, s in enumerate(SERVE_STRATEGIES)}
    differ = [k for k in serve_differing(ok) if k not in NAMED_APART]  # those have columns of their own
    table = [
        {
            "strategy": r["strategy"],
            "n_tasks": r["n_tasks"],
            "rank": r.get("rank"),
            "model": model_label(r),
            "rate": r.get("rate_at_slo_rps"),
            "vs_base": r.get("rate_vs_base"),
            "vs_merge_swap": r.get("rate_vs_merge_swap"),
            "slo_ms": r.get("slo_ms"),
            "setting": ", ".join(f"{k}={r.get(k)}" for k in differ if r.get(k) is not None) or "-",
            **_errors(r),
        }
        for r in sorted(
            ok,
            key=lambda r: (
                str(r.get("model")),
                r.get("rank") or 0,
                r["n_tasks"],
                [str(r.get(k)) for k in differ],
                order.get(r["strategy"], 99),
            ),
        )
    ]
    return {
        "figures": [(c, svg) for c, svg in figs if svg],
        "rows": table,
        "differ": differ,
        "p99_requests": P99_REQUESTS,
        "max_err": f"{MAX_P99_ERR_PCT:.0f}",
    }


def _errors(row: dict) -> dict:
    """The simulation's errors beside a row's rate at the SLO, as the table shows them."""
    v = validation(row)
    return {
        "p99_error": f"{v.p99_err_pct:+.0f} %" if v.p99_err_pct is not None else "not validated",
        "p50_error": f"up to {v.p50_err_pct:.0f} %" if v.p50_err_pct is not None else "-",
        "p50_where": ", ".join(f"{c['fraction']:g}x: {c['p50_err_pct']:+.0f} %" for c in row.get("validation") or []),
        "verified": v.verified,
        "why": v.why,
    }

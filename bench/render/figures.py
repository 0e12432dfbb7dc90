"""Figures for the report: seaborn/matplotlib on the Agg backend, returned as inline SVG text.

Text stays text (svg.fonttype none): the browser draws it with its own sans-serif, nothing is
fetched, and the numbers in a figure can be searched.
"""

from __future__ import annotations

import io
import itertools
import re

from bench.render.palette import method_colour, strategy_colour
from bench.rows.schema import metrics
from bench.switching import STRATEGIES

PALETTE = "colorblind"
_figure_ids = itertools.count()
_LINESTYLES = ("-", "--", ":", "-.")


def pyplot():
    """matplotlib's pyplot and seaborn, on the Agg backend and themed for the report (text stays text)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", palette=PALETTE, font_scale=0.85)
    # text.parse_math off: a name with `$` in it (a method, a task) is drawn as written, never as math text
    plt.rcParams.update(
        {"svg.fonttype": "none", "svg.hashsalt": "adapter-bench", "font.family": "sans-serif", "text.parse_math": False}
    )
    return plt, sns


def log_scale(ax, axis: str = "x", base: int = 10) -> None:
    """A log axis whose tick labels are plain numbers (8, 64, 1024; 0.01): with math text off (text stays
    text), matplotlib's default log labels would show as raw TeX."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    getattr(ax, f"set_{axis}scale")("log", base=base)
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(LogLocator(base=base, subs=(1.0, 2.0, 5.0) if base == 10 else (1.0,)))
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    target.set_minor_formatter(NullFormatter())


def to_svg(fig) -> str:
    """The figure as an <svg> element: no XML prolog, no DOCTYPE, no metadata with dates."""
    plt, _ = pyplot()
    plt.rcParams["svg.hashsalt"] = f"figure-{next(_figure_ids)}"  # clip-path ids unique within one page
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    return re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)


def pareto_front(points: list[tuple[float, float]], x_lower_better: bool = True) -> list[int]:
    """Indices of the points no other point beats on both x and accuracy (y, higher is better),
    ordered along x. Pure."""

    def beats(a, b):
        ax, ay = points[a]
        bx, by = points[b]
        x_ok = ax <= bx if x_lower_better else ax >= bx
        x_strict = ax < bx if x_lower_better else ax > bx
        return x_ok and ay >= by and (x_strict or ay > by)

    front = [i for i in range(len(points)) if not any(beats(j, i) for j in range(len(points)) if j != i)]
    return sorted(front, key=lambda i: points[i][0])


def method_gid(method: str) -> str:
    """An SVG id naming the method a mark is drawn for (unique within a page): tests read colours by it."""
    return "method-" + re.sub(r"[^A-Za-z0-9_-]", "_", str(method)) + f"-{next(_figure_ids)}"


def _label(rec: dict) -> str:
    return rec.get("label") or rec["method"]


def pareto_figure(records: list[dict], x: str, x_label: str, log_x: bool = False, x_lower_better: bool = True) -> str:
    """The task's metric against `x`: one panel per task (its own y axis: accuracy and exact match never
    share one), each with its own frontier; a point per method, in the method's colour in every figure,
    labelled with its name (and the settings that set it apart)."""
    plt, _ = pyplot()
    recs = [r for r in records if r.get(x) is not None and _score(r) is not None]
    tasks = list(dict.fromkeys(r["task"] for r in recs)) or [None]
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.6 * len(tasks) + 1.2, 3.4), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        pts = [r for r in recs if r["task"] == task]
        if not pts:
            ax.text(0.5, 0.5, "no ok runs", ha="center", va="center", transform=ax.transAxes)
            continue
        for r in pts:
            colour = method_colour(r["method"])
            lo, hi = r.get(f"{_metric(r)}_ci_low"), r.get(f"{_metric(r)}_ci_high")
            if lo is not None and hi is not None:
                ax.plot([r[x], r[x]], [lo, hi], color=colour, alpha=0.45, lw=1.2, zorder=2)
            dot = ax.scatter([r[x]], [_score(r)], s=55, color=colour, edgecolor="white", zorder=3, label=_label(r))
            dot.set_gid(method_gid(r["method"]))
            ax.annotate(_label(r), (r[x], _score(r)), xytext=(4, 4), textcoords="offset points", fontsize=7, zorder=4)
        front = pareto_front([(r[x], _score(r)) for r in pts], x_lower_better)
        ax.plot([pts[i][x] for i in front], [_score(pts[i]) for i in front], ls="--", color="0.35", lw=1, zorder=1)
        if log_x and all(r[x] > 0 for r in pts):
            log_scale(ax, "x")
        ax.set_title(task, fontsize=9)
        ax.set_xlabel(x_label + ("  (lower is better)" if x_lower_better else "  (higher is better)"))
        ax.set_ylabel(f"{_metric(pts[0])} (95% CI)")
        ax.legend(fontsize=7, frameon=False, loc="best")
    return to_svg(fig)


def _metric(rec: dict) -> str:
    return "accuracy" if rec.get("accuracy") is not None else rec.get("metric") or "score"


def _score(rec: dict):
    return rec.get(_metric(rec)) if rec.get(_metric(rec)) is not None else rec.get("score")


def switch_latency_figure(rows: list[dict]) -> str:
    """Per-swap latency p50 (bar) and p95 (tick) by strategy."""
    plt, sns = pyplot()
    strategies = list(dict.fromkeys(r["strategy"] for r in rows))
    p50 = [min(r["switch_ms_p50"] for r in rows if r["strategy"] == s) for s in strategies]
    p95 = [min((r.get("switch_ms_p95") or 0) for r in rows if r["strategy"] == s) for s in strategies]
    fig, ax = plt.subplots(figsize=(5.2, 0.5 + 0.45 * len(strategies)))
    sns.barplot(x=p50, y=strategies, hue=strategies, legend=False, ax=ax, orient="h")
    ax.scatter(p95, range(len(strategies)), marker="|", s=200, color="0.2", zorder=3, label="p95")
    ax.set_xlabel("ms per switch (bar p50, tick p95; lower is better)")
    ax.legend(fontsize=7, frameon=False)
    return to_svg(fig)


def switch_curve_figure(
    rows: list[dict], y: str = "requests_per_s", ylabel: str = "requests/s (higher is better)"
) -> str:
    """A metric against the number of tasks in the stream (log2 x axis), one line per strategy. The rows
    should be one slice (batch size, popularity, order, length): mixing slices would zig-zag the lines."""
    plt, sns = pyplot()
    recs = sorted(
        (r for r in rows if r.get(y) is not None and r.get("n_tasks") is not None), key=lambda r: r["n_tasks"]
    )
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    data = {"tasks": [r["n_tasks"] for r in recs], y: [r[y] for r in recs], "strategy": [r["strategy"] for r in recs]}

    palette = {s: strategy_colour(s) for s in STRATEGIES}  # one colour per strategy, every figure
    order = [s for s in STRATEGIES if s in set(data["strategy"])]
    sns.lineplot(
        data=data, x="tasks", y=y, hue="strategy", hue_order=order, palette=palette, marker="o", ax=ax, errorbar=None
    )
    log_scale(ax, "x", 2)
    ax.set_xlabel("tasks N in the mixed stream")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=6, frameon=False)
    return to_svg(fig)


def spectrum_figure(rows: list[dict]) -> str:
    """Singular values of dW (normalised by the largest, mean over LoRA's target matrices), one line per
    task, log y; the dotted line marks LoRA's rank 8."""
    plt, sns = pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    for r in rows:
        per = r["update_spectrum"]["per_matrix"].values()
        curves = [p["singular_values"] for p in per if p["singular_values"]]
        if not curves:
            continue
        n = min(len(c) for c in curves)
        mean = [sum(c[i] for c in curves) / len(curves) for i in range(n)]
        ax.plot(range(1, n + 1), mean, marker=".", label=f"{r['task']} (seed {r.get('seed')})")
    ax.axvline(8, linestyle=":", color="grey")
    log_scale(ax, "y")
    ax.set_xlabel("singular value index of dW")
    ax.set_ylabel("sigma_i / sigma_1")
    ax.legend(fontsize=7, frameon=False)
    return to_svg(fig)


def history_figure(points: list[dict], set_labels: list[str] | None = None) -> str:
    """points: {"set": index from 1, "series": "task / label", "method": name, metric: value...}; one panel
    per metric, x = result set in order (ticks: `set_labels`, e.g. commits). A series keeps its colour (its
    method's) and line style in every panel, so the one legend beside the panels is right for each."""
    plt, _ = pyplot()
    panels = [(m.name, m.history) for m in metrics("history")]  # the metric table's `history` titles
    fig, axes = plt.subplots(1, len(panels), figsize=(10, 3.2))
    n_sets = max((p["set"] for p in points), default=0)
    labels = set_labels or [str(i) for i in range(1, n_sets + 1)]
    series = list(dict.fromkeys(p["series"] for p in points))
    styles, per_method = {}, {}
    for s in series:
        method = next(p["method"] for p in points if p["series"] == s)
        styles[s] = (method_colour(method), _LINESTYLES[per_method.get(method, 0) % len(_LINESTYLES)])
        per_method[method] = per_method.get(method, 0) + 1
    for ax, (metric, label) in zip(axes, panels):
        for s in series:
            pts = sorted((p for p in points if p["series"] == s and p.get(metric) is not None), key=lambda p: p["set"])
            if pts:
                colour, ls = styles[s]
                (line,) = ax.plot(
                    [p["set"] for p in pts], [p[metric] for p in pts], marker="o", ms=4, color=colour, ls=ls
                )
                line.set_gid(method_gid(points[[q["series"] for q in points].index(s)]["method"]))
        ax.set_xticks(range(1, len(labels) + 1), labels, rotation=30, ha="right", fontsize=7)
        ax.set_xlabel("result set (commit)")
        ax.set_title(label, fontsize=9)
    handles = [plt.Line2D([], [], color=styles[s][0], ls=styles[s][1], marker="o", ms=4) for s in series]
    if handles:
        fig.legend(handles, series, fontsize=6, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 0.95))
    fig.tight_layout()
    return to_svg(fig)

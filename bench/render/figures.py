"""Figures for the report: seaborn/matplotlib on the Agg backend, returned as inline SVG text.

Text stays text (svg.fonttype none): the browser draws it with its own sans-serif, nothing is
fetched, and the numbers in a figure can be searched.
"""

from __future__ import annotations

import io
import itertools
import re

from bench.switching import STRATEGIES

PALETTE = "colorblind"
_figure_ids = itertools.count()


def _plt():
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


def to_svg(fig) -> str:
    """The figure as an <svg> element: no XML prolog, no DOCTYPE, no metadata with dates."""
    plt, _ = _plt()
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


def pareto_figure(records: list[dict], x: str, x_label: str, log_x: bool = False, x_lower_better: bool = True) -> str:
    """Accuracy against `x`, one colour per method, one marker per task, each task's frontier drawn."""
    plt, sns = _plt()
    recs = [r for r in records if r.get(x) is not None and r.get("accuracy") is not None]
    fig, ax = plt.subplots(figsize=(5.6, 3.4))
    if recs:
        data = {
            "x": [r[x] for r in recs],
            "accuracy": [r["accuracy"] for r in recs],
            "method": [r["method"] for r in recs],
            "task": [r["task"] for r in recs],
        }
        sns.scatterplot(data=data, x="x", y="accuracy", hue="method", style="task", s=70, ax=ax, zorder=3)
        for r in recs:
            if r.get("accuracy_ci_low") is not None:
                ax.plot([r[x], r[x]], [r["accuracy_ci_low"], r["accuracy_ci_high"]], color="0.6", lw=1, zorder=2)
        for task in dict.fromkeys(r["task"] for r in recs):
            pts = [(r[x], r["accuracy"]) for r in recs if r["task"] == task]
            front = pareto_front(pts, x_lower_better)
            ax.plot([pts[i][0] for i in front], [pts[i][1] for i in front], ls="--", color="0.3", lw=1, zorder=1)
        ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1))
    else:
        ax.text(0.5, 0.5, "no ok runs", ha="center", va="center", transform=ax.transAxes)
    if log_x and recs and all(r[x] > 0 for r in recs):
        ax.set_xscale("log")
    ax.set_xlabel(x_label + ("  (lower is better)" if x_lower_better else "  (higher is better)"))
    ax.set_ylabel("accuracy (95% CI)")
    return to_svg(fig)


def switch_latency_figure(rows: list[dict]) -> str:
    """Per-swap latency p50 (bar) and p95 (tick) by strategy."""
    plt, sns = _plt()
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
    plt, sns = _plt()
    recs = sorted(
        (r for r in rows if r.get(y) is not None and r.get("n_tasks") is not None), key=lambda r: r["n_tasks"]
    )
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    data = {"tasks": [r["n_tasks"] for r in recs], y: [r[y] for r in recs], "strategy": [r["strategy"] for r in recs]}

    palette = dict(
        zip(STRATEGIES, sns.color_palette("tab20", len(STRATEGIES)))
    )  # one colour per strategy, every figure
    order = [s for s in STRATEGIES if s in set(data["strategy"])]
    sns.lineplot(
        data=data, x="tasks", y=y, hue="strategy", hue_order=order, palette=palette, marker="o", ax=ax, errorbar=None
    )
    ax.set_xscale("log", base=2)
    ax.set_xlabel("tasks N in the mixed stream")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=6, frameon=False)
    return to_svg(fig)


def spectrum_figure(rows: list[dict]) -> str:
    """Singular values of dW (normalised by the largest, mean over LoRA's target matrices), one line per
    task, log y; the dotted line marks LoRA's rank 8."""
    plt, sns = _plt()
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
    ax.set_yscale("log")
    ax.set_xlabel("singular value index of dW")
    ax.set_ylabel("sigma_i / sigma_1")
    ax.legend(fontsize=7, frameon=False)
    return to_svg(fig)


HISTORY_METRICS = (
    ("accuracy", "accuracy"),
    ("train_tokens_per_s", "train tokens/s"),
    ("infer_latency_ms_p50", "latency p50 ms"),
)


def history_figure(points: list[dict]) -> str:
    """points: {"set": label, "series": "task/method", metric: value...}; one panel per metric."""
    plt, sns = _plt()
    fig, axes = plt.subplots(1, len(HISTORY_METRICS), figsize=(10, 3.2))
    labels = list(dict.fromkeys(p["set"] for p in points))
    for ax, (metric, label) in zip(axes, HISTORY_METRICS):
        pts = [p for p in points if p.get(metric) is not None]
        data = {
            "set": [labels.index(p["set"]) for p in pts],
            label: [p[metric] for p in pts],
            "run": [p["series"] for p in pts],
        }
        if pts:
            sns.lineplot(
                data=data, x="set", y=label, hue="run", marker="o", ax=ax, errorbar=None, legend=ax is axes[-1]
            )
        ax.set_xticks(range(len(labels)), [str(i + 1) for i in range(len(labels))])
        ax.set_xlabel("result set")
        ax.set_ylabel("")  # the title names the metric; a y label would run into the next panel
        ax.set_title(label, fontsize=9)
    if axes[-1].get_legend() is not None:
        axes[-1].legend(fontsize=6, frameon=False, bbox_to_anchor=(1.02, 1), loc="upper left")
    return to_svg(fig)

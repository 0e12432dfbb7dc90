"""Figures for the report: matplotlib on the Agg backend, returned as inline SVG text.

Text stays text (svg.fonttype none): the browser draws it with its own sans-serif, nothing is
fetched, and the numbers in a figure can be searched. Every figure is drawn at the size it is shown
at on a 1280 px page (at most about 11 inches wide, no text under 8 pt: 10 px and more), with its
legend outside the data and a unit on every axis; log axes carry a few plain ticks (1k, 10k, 1M).
"""

from __future__ import annotations

import io
import itertools
import re

from bench.options import STRATEGIES
from bench.render.palette import colour, colours
from bench.rows.schema import metrics

_figure_ids = itertools.count()
_LINESTYLES = ("-", "--", ":", "-.")
FONT = 8.5  # points; an SVG shown at its own size draws 1 pt as 1.33 px
STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "adapter-bench",
    "font.family": "sans-serif",
    "font.size": FONT,
    "axes.titlesize": 9,
    "axes.labelsize": FONT,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "text.parse_math": False,  # a name with `$` in it (a method, a task) is drawn as written, never as math
    "axes.grid": True,
    "grid.color": "#e3e3e3",
    "grid.linewidth": 0.8,
    "axes.edgecolor": "#bbbbbb",
    "axes.axisbelow": True,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.formatter.useoffset": False,  # no "1e7" over an axis: tick labels say the number
    "xtick.color": "#333333",
    "ytick.color": "#333333",
}
_styled = []


def pyplot():
    """pyplot on Agg with the report's style, set once per process (matplotlib alone: no seaborn, no scipy)."""
    import matplotlib

    if not _styled:
        matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    if not _styled:
        plt.rcParams.update(STYLE)
        _styled.append(True)
    return plt


def short_number(v: float, from_: float = 1e4) -> str:
    """A tick label: 770, 1200, 10k, 2.5M, 0.01 (thousands as k from `from_` up: 1k on a log axis)."""
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= max(div, from_):
            return f"{v / div:g}{suffix}"
    return f"{v:g}"


def log_scale(ax, axis: str = "x", base: int = 10) -> None:
    """A log axis with a few plain tick labels (1k, 10k, 100k, 1M; 1, 2, 4, 8 in base 2): decades only
    when the data spans three or more, else 1-2-5 steps; never matplotlib's TeX labels."""
    import math

    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, NullLocator

    getattr(ax, f"set_{axis}scale")("log", base=base)
    target = ax.xaxis if axis == "x" else ax.yaxis
    lo, hi = (ax.dataLim.intervalx if axis == "x" else ax.dataLim.intervaly) if ax.has_data() else (1, 10)
    decades = math.log10(max(hi, 1e-12) / max(lo, 1e-12))
    subs = (1.0,) if base != 10 or decades >= 3 else (1.0, 2.0, 5.0)
    target.set_major_locator(LogLocator(base=base, subs=subs, numticks=8))
    target.set_major_formatter(FuncFormatter(lambda v, _: short_number(v, 1e3) if base == 10 else f"{v:g}"))
    target.set_minor_formatter(NullFormatter())
    target.set_minor_locator(NullLocator())  # no minor ticks: fewer to lay out, nothing to read


def plain_numbers(ax, axis: str = "y") -> None:
    """Tick labels as short numbers (22.7M, not 2.27 with a 1e7 offset)."""
    from matplotlib.ticker import FuncFormatter

    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(FuncFormatter(lambda v, _: short_number(v)))


def legend_right(ax, **kw) -> None:
    """The legend beside the axes, outside the data."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0, **kw)


def legend_below(fig, handles, labels, ncol: int = 3) -> None:
    """One legend for every panel, under them, never wider than the panels: as many columns as the longest
    label allows, a long label wrapped."""
    if not handles:
        return
    labels = [wrap(str(label), 56) for label in labels]
    longest = max(len(line) for label in labels for line in label.split("\n"))
    fits = int(fig.get_figwidth() * 72 // (longest * 0.6 * 8 + 34))  # 8 pt text at about 0.6 em a character
    fig.legend(
        handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=max(1, min(ncol, len(labels), fits))
    )


def wrap(text: str, width: int = 48) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or text


def to_svg(fig) -> str:
    """The figure as an <svg> element: no XML prolog, no DOCTYPE, no metadata with dates."""
    plt = pyplot()
    plt.rcParams["svg.hashsalt"] = f"figure-{next(_figure_ids)}"  # clip-path ids unique within one page
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.05, metadata={"Date": None, "Creator": None})
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


def method_gid(name: str) -> str:
    """An SVG id naming the method or strategy a mark is drawn for (unique within a page): tests read colours
    by it."""
    return "method-" + re.sub(r"[^A-Za-z0-9_-]", "_", str(name)) + f"-{next(_figure_ids)}"


def _label(rec: dict) -> str:
    return rec.get("label") or rec["method"]


def panel_grid(plt, n: int, width: float, height: float, cols: int = 2):
    """n panels, at most `cols` to a row."""
    cols = max(1, min(cols, n))
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def pareto_figure(records: list[dict], x: str, x_label: str, log_x: bool = False, x_lower_better: bool = True) -> str:
    """The task's metric against `x`: one panel per task (its own y axis: accuracy and exact match never
    share one), each with its own frontier; a point per method in its colour (the same in every figure), named
    in the one legend under the panels (labels beside the points would collide)."""
    plt = pyplot()
    recs = [r for r in records if r.get(x) is not None and _score(r) is not None]
    tasks = list(dict.fromkeys(r["task"] for r in recs)) or [None]
    palette = colours(_label(r) for r in recs)
    fig, axes = panel_grid(plt, len(tasks), 4.6, 3.3)
    handles: dict[str, object] = {}
    for ax, task in zip(axes, tasks):
        pts = [r for r in recs if r["task"] == task]
        if not pts:
            ax.text(0.5, 0.5, "no ok runs", ha="center", va="center", transform=ax.transAxes)
            continue
        for r in pts:
            c = palette[_label(r)]
            lo, hi = r.get(f"{_metric(r)}_ci_low"), r.get(f"{_metric(r)}_ci_high")
            if lo is not None and hi is not None:
                ax.plot([r[x], r[x]], [lo, hi], color=c, alpha=0.5, lw=1.4, zorder=2)
            dot = ax.scatter([r[x]], [_score(r)], s=55, color=c, edgecolor="white", zorder=3)
            dot.set_gid(method_gid(_label(r)))
            handles.setdefault(_label(r), dot)
        front = pareto_front([(r[x], _score(r)) for r in pts], x_lower_better)
        ax.plot([pts[i][x] for i in front], [_score(pts[i]) for i in front], ls="--", color="0.35", lw=1, zorder=1)
        if log_x and all(r[x] > 0 for r in pts):
            log_scale(ax, "x")
        else:
            plain_numbers(ax, "x")
        ax.set_title(task, fontsize=9)
        ax.set_xlabel(wrap(x_label + (", lower is better" if x_lower_better else ", higher is better"), 44))
        ax.set_ylabel(f"{_metric(pts[0])} (fraction, 95% CI)")
    fig.tight_layout()
    legend_below(fig, list(handles.values()), list(handles), ncol=4)
    return to_svg(fig)


def _metric(rec: dict) -> str:
    return "accuracy" if rec.get("accuracy") is not None else rec.get("metric") or "score"


def _score(rec: dict):
    return rec.get(_metric(rec)) if rec.get(_metric(rec)) is not None else rec.get("score")


def switch_latency_figure(rows: list[dict]) -> str:
    """Per-swap latency p50 (bar) and p95 (tick) by strategy, each bar in its strategy's colour."""
    plt = pyplot()
    strategies = list(dict.fromkeys(r["strategy"] for r in rows))
    p50 = [min(r["switch_ms_p50"] for r in rows if r["strategy"] == s) for s in strategies]
    p95 = [min((r.get("switch_ms_p95") or 0) for r in rows if r["strategy"] == s) for s in strategies]
    fig, ax = plt.subplots(figsize=(5.4, 0.7 + 0.3 * len(strategies)))
    ys = range(len(strategies))
    for y, s, v in zip(ys, strategies, p50):
        ax.barh([y], [v], color=colour(s), height=0.7).patches[0].set_gid(method_gid(s))
    ax.scatter(p95, list(ys), marker="|", s=200, color="0.2", zorder=3, label="p95")
    ax.set_yticks(list(ys), strategies)
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("ms per switch (bar: p50, tick: p95; lower is better)")
    legend_right(ax)
    return to_svg(fig)


def switch_curve_figure(
    rows: list[dict], y: str = "requests_per_s", ylabel: str = "requests/s (higher is better)"
) -> str:
    """A metric against the number of tasks in the stream (log2 x axis), one line per strategy (the mean of
    the rows at each N). The rows should be one slice (batch size, popularity, order, length): mixing slices
    would zig-zag the lines."""
    plt = pyplot()
    recs = [r for r in rows if r.get(y) is not None and r.get("n_tasks") is not None]
    fig, ax = plt.subplots(figsize=(5.4, 3.3))
    present = {r["strategy"] for r in recs}
    for s in [s for s in STRATEGIES if s in present] + sorted(present - set(STRATEGIES)):
        by_n: dict[int, list[float]] = {}
        for r in recs:
            if r["strategy"] == s:
                by_n.setdefault(r["n_tasks"], []).append(r[y])
        ns = sorted(by_n)
        (line,) = ax.plot(ns, [sum(by_n[n]) / len(by_n[n]) for n in ns], marker="o", ms=4, color=colour(s), label=s)
        line.set_gid(method_gid(s))
    log_scale(ax, "x", 2)
    ax.set_xlabel("tasks N in the mixed stream (count)")
    ax.set_ylabel(ylabel)
    legend_right(ax)
    return to_svg(fig)


def spectrum_figure(rows: list[dict]) -> str:
    """Singular values of dW (normalised by the largest, mean over LoRA's target matrices), one line per
    task, log y; the dotted line marks LoRA's rank 8."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.4, 3.3))
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
    ax.set_xlabel("singular value index i of dW")
    ax.set_ylabel("sigma_i / sigma_1 (ratio)")
    legend_right(ax)
    return to_svg(fig)


def history_figure(points: list[dict], set_labels: list[str] | None = None) -> str:
    """points: {"set": index from 1, "series": "task / label", "method": name, metric: value...}; one panel
    per metric, x = result set in order (ticks: `set_labels`, e.g. commits). A series keeps its colour (its
    label's: two settings of one method differ) and its task's line style in every panel, so the one legend
    under the panels is right for each."""
    plt = pyplot()
    panels = [(m.name, m.history, m.unit) for m in metrics("history")]  # the metric table's `history` titles
    n_sets = max((p["set"] for p in points), default=0)
    labels = set_labels or [str(i) for i in range(1, n_sets + 1)]
    series = list(dict.fromkeys(p["series"] for p in points))
    label_of = {s: s.split(" / ", 1)[-1] for s in series}
    palette = colours(label_of.values())
    tasks = list(dict.fromkeys(s.split(" / ", 1)[0] for s in series))
    styles = {s: (palette[label_of[s]], _LINESTYLES[tasks.index(s.split(" / ", 1)[0]) % 4]) for s in series}
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.0), squeeze=False)
    for ax, (metric, title, unit) in zip(axes[0], panels):
        for s in series:
            pts = sorted((p for p in points if p["series"] == s and p.get(metric) is not None), key=lambda p: p["set"])
            if pts:
                c, ls = styles[s]
                (line,) = ax.plot([p["set"] for p in pts], [p[metric] for p in pts], marker="o", ms=4, color=c, ls=ls)
                line.set_gid(method_gid(label_of[s]))
        ax.set_xticks(range(1, len(labels) + 1), labels, rotation=90)
        ax.set_xlabel("result set (commit)")
        ax.set_ylabel(unit)
        plain_numbers(ax)
        ax.set_title(title, fontsize=9)
    handles = [plt.Line2D([], [], color=styles[s][0], ls=styles[s][1], marker="o", ms=4) for s in series]
    fig.tight_layout()
    legend_below(fig, handles, series, ncol=3)
    return to_svg(fig)

"""Figures that read: plain log ticks, no offset, units, legends outside the data, history charts titled
by what they plot, two settings of one method in two colours. Read from the SVG text."""

from __future__ import annotations

import re

from bench.history.detect import build_series
from bench.history.report import chart_title, metric_figure
from bench.render.figures import history_figure, pareto_figure
from tests.history.test_history import commit_rows
from tests.render.test_html import run_row

TEXT = re.compile(r"<text[^>]*>([^<]*)</text>")


def texts(svg: str) -> list[str]:
    return [t.strip() for t in TEXT.findall(svg) if t.strip()]


def test_pareto_log_axis_has_a_few_plain_ticks_and_no_point_labels():
    recs = [
        run_row(method=m, trainable_params=p, label=m)
        for m, p in (("head_only", 770), ("prompt_tuning", 8450), ("lora", 74_498), ("full", 22_713_986))
    ]
    svg = pareto_figure(recs, "trainable_params", "trainable parameters (log)", log_x=True)
    words = texts(svg)
    assert {"1k", "10k", "100k", "1M", "10M"} <= set(words), words
    assert not any("e+" in w or "1e" in w for w in words), words
    assert words.count("lora") == 1  # named once, in the legend: no label beside a point to collide with another
    assert any("(fraction, 95% CI)" in w for w in words)


def test_history_charts_say_what_they_plot_with_units_and_no_offset():
    assert chart_title("trainable_params") == ("trainable params", "count", 1.0)  # counts, not "(%)"
    title, unit, scale = chart_title("adapter_bytes")
    assert (title, unit) == ("adapter size", "MiB") and scale == 1 / 2**20
    rows = [r for n in (1, 2, 3) for r in commit_rows(n)]
    series = [s for s in build_series(rows, "cpu-test-2c", "smoke") if s.metric == "trainable_params"]
    words = texts(metric_figure(series, [], ["a", "b", "c"]))
    assert (
        "count (log scale)" in words
        and "10M" in words
        and not any(re.fullmatch(r"[0-9.]+e[+-]?[0-9]+", w) for w in words)
    ), words


def test_two_learning_rates_of_one_method_get_two_colours_in_the_history_figure():
    points = [
        {"set": i, "series": f"t / lora (lr={lr})", "method": "lora", "accuracy": 0.8}
        for i in (1, 2)
        for lr in ("0.001", "0.003")
    ]
    svg = history_figure(points, ["1", "2"])
    strokes = {
        gid: set(re.findall(r"stroke: (#[0-9a-f]{6})", body))
        for gid, body in re.findall(r'<g id="method-(lora[^"]*?)-\d+">(.*?)</g>', svg, re.S)
    }
    assert len({frozenset(c) for c in strokes.values()}) == 2, strokes


def test_every_legend_of_every_figure_lies_outside_every_panel(monkeypatch):
    """Drawn, each legend's box on the canvas meets no visible axes box: legends beside or under the panels,
    never over the data (the report's run, serve and switch figures, and the history figure)."""
    from pathlib import Path

    from bench.history import report as history_report
    from bench.render import figures, html, serving
    from bench.rows.store import read_rows
    from tests.render.test_html import ROWS, SWITCH

    checked, crossing = [], []
    real = figures.to_svg

    def inspect(fig):
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        panels = [ax.get_window_extent(renderer) for ax in fig.axes if ax.get_visible() and ax.axison]
        legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]
        for legend in legends:
            box = legend.get_window_extent(renderer)
            checked.append(box)
            crossing.extend((fig.axes[0].get_title(), box, p) for p in panels if box.overlaps(p))
        return real(fig)

    monkeypatch.setattr(figures, "to_svg", inspect)
    monkeypatch.setattr(serving, "to_svg", inspect)
    monkeypatch.setattr(history_report, "to_svg", inspect)
    serve = read_rows(Path(__file__).resolve().parents[2] / "results" / "serving" / "serve-cpu.jsonl")
    html.render(ROWS + SWITCH + serve, history=[ROWS, ROWS])
    in_report = len(checked)
    rows = [r for n in (1, 2, 3) for r in commit_rows(n)]
    series = build_series(rows, "cpu-test-2c", "smoke")
    for metric in {s.metric for s in series}:  # the history report's charts, one per metric
        metric_figure([s for s in series if s.metric == metric], [], ["a", "b", "c"])
    assert in_report >= 5 and len(checked) > in_report and crossing == [], crossing

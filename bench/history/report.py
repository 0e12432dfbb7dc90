"""The history report: each tracked metric against commit order, one panel per task, one line per run
(colour by method, the same as in every report), detected steps marked with their first commit.

One self-contained HTML file: inline CSS and SVG, nothing fetched.
"""

from __future__ import annotations

import html
from datetime import datetime, timezone

from bench.history.detect import PENALTY, TRACKED, Series, Step, steps
from bench.render import CSP
from bench.render.figures import legend_below, log_scale, method_gid, panel_grid, plain_numbers, pyplot, to_svg
from bench.render.palette import colours
from bench.rows import schema

LINESTYLES = ("-", "--", ":", "-.")


def chart_title(name: str) -> tuple[str, str, float]:
    """(title, unit, scale) of a tracked metric's chart: the metric's own name and unit, never a table
    header's (the table's "trainable params (%)" adds a percentage the chart does not plot); bytes in MiB."""
    m = schema.metric(name)
    title = TRACKED.get(name, name).split(" (", 1)[0]
    if m.unit == "bytes":
        return title, "MiB", 1 / 2**20
    return title, "count" if m.unit == "params" else m.unit, 1.0


def metric_figure(series: list[Series], found: list[Step], commit_labels: list[str]) -> str:
    """One metric: a panel per task (two to a row), x = commit order (ticks name the commits), a line per run
    in a colour of its own (its method's, a shade of it for each further setting: two learning rates differ),
    one legend under the panels; each detected step a dotted vertical line labelled with its first commit."""
    plt = pyplot()
    _, unit, scale = chart_title(series[0].metric) if series else ("", "", 1.0)
    tasks = list(dict.fromkeys(s.task for s in series))
    palette = colours(s.label for s in series)
    width = min(5.2, max(3.6, 0.3 * len(commit_labels) + 2.4))
    fig, axes = panel_grid(plt, len(tasks), width, 3.2)
    handles: dict[str, object] = {}
    for ax, task in zip(axes, tasks):
        styles: dict[str, int] = {}
        for s in (s for s in series if s.task == task):
            style = LINESTYLES[styles.setdefault(s.label, 0) % len(LINESTYLES)]
            styles[s.label] += 1
            xs = [p.commit.index for p in s.points]
            (line,) = ax.plot(
                xs, [p.value * scale for p in s.points], marker="o", ms=4, lw=1.4, ls=style, color=palette[s.label],
                label=s.label,
            )  # fmt: skip
            line.set_gid(method_gid(s.label))
            handles.setdefault(s.label, line)
        for st in (st for st in found if st.series.task == task):
            x = st.first.index - 0.5
            ax.axvline(x, color="#C00000" if st.worse else "#2E7D32", ls=":", lw=1.2)
            ax.annotate(
                f"step at {st.first.short}",
                (x, 1.0),
                xycoords=("data", "axes fraction"),
                rotation=90,
                va="top",
                ha="right",
                fontsize=8,
                color="#C00000" if st.worse else "#2E7D32",
            )
        ax.set_xticks(range(len(commit_labels)), commit_labels, rotation=90)
        ax.set_xlim(-0.5, len(commit_labels) - 0.5)
        ax.set_xlabel("commit (oldest first)")
        ax.set_ylabel(unit)
        values = [p.value for s in series if s.task == task for p in s.points]
        if values and min(values) > 0 and max(values) / min(values) > 100:  # 770 to 22.7M parameters: log
            log_scale(ax, "y")
            ax.set_ylabel(f"{unit} (log scale)")
        else:
            plain_numbers(ax)
        ax.set_title(task, fontsize=9)
    fig.tight_layout()
    legend_below(fig, list(handles.values()), list(handles), ncol=3)
    return to_svg(fig)


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


def step_rows(found: list[Step]) -> list[dict]:
    return [
        {
            "metric": st.series.metric,
            "run": st.series.run,
            "first commit": st.first.key,
            "before -> after": f"{_fmt(st.before)} -> {_fmt(st.after)}",
            "ratio": f"{st.ratio:.2f}x" if st.ratio is not None else "-",
            "p": f"{st.p_value:.2g}" if st.p_value is not None else "-",
            "direction": "worse" if st.worse else "better",
        }
        for st in found
    ]


def group_section(
    machine_class: str, suite: str, series: list[Series], commit_keys: list[str], penalty: float = PENALTY
) -> str:
    labels = [k[:8] + ("+dirty" if k.endswith("+dirty") else "") for k in commit_keys]
    found = [st for s in series for st in steps(s, penalty)]
    parts = [f"<h2>{html.escape(suite)} on {html.escape(machine_class)}</h2>"]
    parts.append(f"<p>{len(commit_keys)} commits, oldest first: {html.escape(', '.join(labels))}.</p>")
    rows = step_rows(found)
    if rows:
        head = "".join(f"<th>{html.escape(k)}</th>" for k in rows[0])
        body = "".join(
            f'<tr class="{r["direction"]}">' + "".join(f"<td>{html.escape(str(v))}</td>" for v in r.values()) + "</tr>"
            for r in rows
        )
        parts.append(f'<table class="steps"><tr>{head}</tr>{body}</table>')
    else:
        parts.append("<p>No steps detected.</p>")
    for metric in TRACKED:
        these = [s for s in series if s.metric == metric]
        if not these:
            continue
        figure = metric_figure(these, [st for st in found if st.series.metric == metric], labels)
        title, unit, _ = chart_title(metric)
        caption = html.escape(f"{title} ({unit})")
        parts.append(f'<figure data-metric="{metric}"><figcaption>{caption}</figcaption>{figure}</figure>')
    return "\n".join(parts)


CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5rem auto; max-width: 1200px; padding: 0 1rem; color: #222; }
table.steps { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0 1rem; }
table.steps { display: block; max-width: 100%; overflow-x: auto; }  /* a narrow screen: scrolls in its own box */
table.steps td, table.steps th { border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: left; }
tr.worse td:last-child { color: #C00000; font-weight: 600; } tr.better td:last-child { color: #2E7D32; }
figure { margin: 1rem 0; overflow-x: auto; } figcaption { font-weight: 600; margin-bottom: 0.3rem; }
svg { max-width: 100%; height: auto; }
"""


def render(sections: list[str], method: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}"><title>adapter-bench history</title>'
        f"<style>{CSS}</style></head><body><h1>Benchmark history</h1>"
        f"<p>Written {stamp}. Each metric against commit order; {html.escape(method)}</p>"
        + "\n".join(sections)
        + "</body></html>\n"
    )

"""The terminal summary: task x method, from result rows (pure)."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from bench.analysis.aggregate import SPEED_METRICS, speed_records
from bench.analysis.paired import fmt_gap, fmt_p, paired
from bench.analysis.selection import main_rows, sweep_points
from bench.render.sections import column_header, shape_model
from bench.rows.memory import OWN_PEAK, own_peak
from bench.rows.schema import kind_of, metric, metrics


def _mean(values):
    v = [x for x in values if x is not None and not (isinstance(x, float) and math.isnan(x))]
    return float(np.mean(v)) if v else None


def _accuracy(ok: list[dict]) -> str:
    acc = _mean(r.get("accuracy") for r in ok)
    if acc is None:
        return "-"
    if len(ok) == 1:
        return f"{acc:.3f} [{ok[0]['accuracy_ci_low']:.3f}, {ok[0]['accuracy_ci_high']:.3f}]"
    accs = [r["accuracy"] for r in ok]
    return f"{acc:.3f} ({min(accs):.3f}..{max(accs):.3f}, n={len(ok)})"


def summary_table(rows: list[dict]) -> str:
    """One line per (task, method): mean over seeds; accuracy with its bootstrap 95 % CI (one seed)
    or the spread across seeds (min..max) when there are several."""

    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in main_rows(rows):  # a learning-rate sweep: its selected rate only
        if kind_of(r) == "run":
            groups[(r["task"], r["method"])].append(r)
    columns = metrics("terminal")
    header = ["task", "method", "status"] + [m.terminal for m in columns]
    lines = [header]
    for (task, method), rs in groups.items():
        ok = [r for r in rs if r["status"] == "ok"]
        status = "ok" if len(ok) == len(rs) else ",".join(sorted({r["status"] for r in rs}))
        if not ok:
            lines.append([task, method, status] + ["-"] * (len(header) - 3))
            continue
        cells = []
        for m in columns:
            if m.name == "accuracy":  # with its interval (one seed) or its spread over seeds
                cells.append(_accuracy(ok))
                continue
            v = _mean(own_peak(r) if m.name == OWN_PEAK else r.get(m.name) for r in ok)  # old rows: derived
            if v is None and m.stand_in:  # e.g. generation tasks: generated tokens/s of fixed-length decoding
                v = _mean(r.get(m.stand_in) for r in ok)
            cells.append(m.text(v, terminal=True))
        lines.append([task, method, status, *cells])
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    out = []
    for j, line in enumerate(lines):
        out.append(
            "  ".join(str(c).ljust(w) if i < 3 else str(c).rjust(w) for i, (c, w) in enumerate(zip(line, widths)))
        )
        if j == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def _columns(lines: list[list], left: int) -> str:
    """Aligned text columns: the first `left` left-aligned, the rest right-aligned; a rule under the header."""
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(lines[0]))]
    out = []
    for j, line in enumerate(lines):
        out.append(
            "  ".join(str(c).ljust(w) if i < left else str(c).rjust(w) for i, (c, w) in enumerate(zip(line, widths)))
        )
        if j == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def speed_table(rows: list[dict]) -> str:
    """Runs on random weights (shape-only models): one line per model setting, task and method, means over
    seeds of their speed, size and memory ("" when there are none). They have no accuracy."""
    recs = speed_records(rows)
    if not recs:
        return ""
    columns = [metric(name) for name in SPEED_METRICS]
    lines = [["model", "task", "method", "status"] + [m.terminal or column_header(m) for m in columns]]
    for rec in recs:
        status = "ok" if rec["n_ok"] == rec["n"] else ",".join(rec["statuses"])
        cells = []
        for m in columns:
            v = rec[m.name] if rec[m.name] is not None or not m.stand_in else rec.get(m.stand_in)
            cells.append(m.text(v, terminal=True) if rec["n_ok"] else "-")
        lines.append([shape_model(rec), rec["task"], rec["label"], status, *cells])
    return "speed at model shapes (random weights: no accuracy)\n" + _columns(lines, 4)


def sweep_table(rows: list[dict]) -> str:
    """The sweep: each setting's mean validation and test accuracy, * on the selected one ("" if none)."""

    points = sweep_points(rows)
    if not points:
        return ""
    f = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    lines = [["task", "method", "setting", "lr", "val acc", "val seeds", "test acc", "ok/runs", "selected"]]
    lines += [
        [
            p.task,
            p.method,
            p.setting or "-",
            "-" if p.lr is None else f"{p.lr:g}",
            f(p.val_accuracy),
            ",".join(map(str, p.val_seeds)) or "-",
            f(p.accuracy),
            f"{p.n_ok}/{p.n}",
            "*" if p.selected else "",
        ]
        for p in points
    ]
    title = "sweep of the learning rate and other parameters"
    if not any(p.setting for p in points):  # a learning-rate sweep only: no setting column
        lines, title = [line[:2] + line[3:] for line in lines], "learning-rate sweep"
    return f"{title} (selected: best mean validation accuracy at the seeds every setting has)\n" + _columns(
        lines, len(lines[0]) - 6
    )


def paired_table(rows: list[dict], pair: tuple[str, str] = ("lora", "prompt_tuning")) -> str:
    """The paired comparison of two methods per task ("" when no seed pairs up)."""

    found = paired(rows, pair)
    if not found:
        return ""
    lines = [["task", "seeds", "gap [95% CI]", "p (seeds)", "p (examples)", "examples"]]
    lines += [
        [
            c.task,
            ",".join(map(str, c.seeds)),
            fmt_gap(c),
            fmt_p(c.p_seeds),
            fmt_p(c.p_examples),
            str(c.n_examples or "-"),
        ]
        for c in found
    ]
    return f"{pair[0]} vs {pair[1]}, paired (gap = {pair[0]} - {pair[1]} accuracy)\n" + _columns(lines, 2)

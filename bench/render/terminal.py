"""The terminal summary: task x method, from result rows (pure)."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from bench.analysis.aggregate import SPEED_METRICS, speed_records
from bench.analysis.health import warnings
from bench.analysis.paired import fmt_gap, fmt_p, paired
from bench.analysis.selection import main_rows, sweep_points
from bench.options import STRATEGIES
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


def _own_metric(r: dict) -> bool:
    """A row whose task is scored by a metric other than accuracy / exact match (ROUGE-L, BLEU): its `score`."""
    return r.get("metric") not in (None, "accuracy", "exact_match") and r.get("score") is not None


def _score(ok: list[dict]) -> str:
    own = [r for r in ok if _own_metric(r)]
    if not own:
        return "-"
    name, score = own[0]["metric"], _mean(r["score"] for r in own)
    if len(own) == 1 and own[0].get("score_ci_low") is not None:
        return f"{name} {score:.3f} [{own[0]['score_ci_low']:.3f}, {own[0]['score_ci_high']:.3f}]"
    return f"{name} {score:.3f}" + (f" (n={len(own)})" if len(own) > 1 else "")


def summary_table(rows: list[dict]) -> str:
    """One line per (task, method): mean over seeds; accuracy with its bootstrap 95 % CI (one seed)
    or the spread across seeds (min..max) when there are several. Where a task is scored by its own metric
    (ROUGE-L, BLEU), a "task metric" column beside accuracy (exact match there) shows it."""

    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in main_rows(rows):  # a learning-rate sweep: its selected rate only
        if kind_of(r) == "run":
            groups[(r["task"], r["method"])].append(r)
    columns = metrics("terminal")
    scored = any(_own_metric(r) for rs in groups.values() for r in rs if r["status"] == "ok")
    header = ["task", "method", "status"] + [m.terminal for m in columns]
    if scored:
        header.insert(4, "task metric (95% CI)")
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
                if scored:
                    cells.append(_score(ok))
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


def switch_table(rows: list[dict]) -> str:
    """The terminal summary of a switching sweep: strategies x (order, N) at the largest batch."""
    rows = [r for r in rows if kind_of(r) == "switch"]
    if not rows:
        return "no switching rows"
    batch = max(r["batch_size"] for r in rows)
    pop, length = rows[0]["popularity"], rows[0]["length"]
    view = [r for r in rows if (r["batch_size"], r["popularity"], r["length"]) == (batch, pop, length)]
    cols = sorted({(r["order"], r["n_tasks"]) for r in view})
    cell = {(r["strategy"], r["order"], r["n_tasks"]): r for r in view}
    header = ["strategy"] + [f"{o} N={n}" for o, n in cols] + ["gates"]
    lines = [header]
    for s in [s for s in STRATEGIES if any(r["strategy"] == s for r in view)]:
        line = [s]
        for o, n in cols:
            r = cell.get((s, o, n))
            if r is None:
                line.append("")
            elif r.get("requests_per_s") is None:  # unsupported, failed or oom: not served
                line.append(r["status"])
            else:
                pct = r.get("overhead_vs_base_pct")
                line.append(
                    f"{r['requests_per_s']:.0f}/s" + (f" ({pct:+.0f}%)" if pct is not None and s != "base" else "")
                )
        gated = [r.get("gate_ok") for r in rows if r["strategy"] == s and r.get("gate_ok") is not None]
        line.append("-" if not gated else ("ok" if all(gated) else "FAILED"))
        lines.append(line)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = [f"requests/s (time vs base) at batch {batch}, {pop} popularity, {length} inputs"]
    out += [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))) for line in lines
    ]
    out.insert(2, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def serve_table(rows: list[dict]) -> str:
    """The terminal summary of a `serve` run: one line per strategy (rate at the SLO, against base and merge_swap,
    p99, batch and swap times, the simulation's errors), then the SLO."""
    head = (
        f"{'strategy':20} {'N':>5} {'r':>3} {'req/s@SLO':>10} {'x base':>7} {'x merge':>8} {'p99 ms':>9} "
        f"{'batch ms':>9} {'swap ms':>8}  sim p50 error [at the run's measured speed] (rate)"
    )
    lines = [head]
    for r in rows:
        if kind_of(r) != "serve" or r.get("status") != "ok":
            continue
        ratio = [f"{r[k]:.2f}" if r.get(k) is not None else "-" for k in ("rate_vs_base", "rate_vs_merge_swap")]
        p99 = r["at_slo"]["p99_ms"] if r.get("at_slo") else float("nan")
        swap = f"{r['swap_ms_p50']:.1f}" if r.get("swap_ms_p50") is not None else "-"
        errs = ", ".join(
            f"{c['p50_err_pct']:+.0f} % [{c.get('p50_err_pct_drift_corrected', float('nan')):+.0f} %] "
            f"({c['rate_rps']:.2f}/s)"
            for c in r.get("validation") or []
        )
        if r.get("sim_p99_err_pct") is not None:
            errs += f"; p99 at the SLO rate {r['sim_p99_err_pct']:+.0f} % ({r['sim_p99_requests']} requests)"
        lines.append(
            f"{r['strategy']:20} {r['n_tasks']:>5} {r['rank']:>3} {r['rate_at_slo_rps']:>10.3f} {ratio[0]:>7} {ratio[1]:>8} "
            f"{p99:>9.0f} {r['batch_ms_full']:>9.1f} {swap:>8}  {errs or '-'}"
        )
    slos = {(r["n_tasks"], r["rank"]): r["slo_ms"] for r in rows if kind_of(r) == "serve" and r.get("slo_ms")}
    if slos:
        each = ", ".join(f"{ms:.0f} ms (N = {n}, r = {rank})" for (n, rank), ms in slos.items())
        lines.append(f"SLO: p99 latency <= {each}; latency = queueing + service, simulated on profiled times")
    return "\n".join(lines)


def warnings_text(rows: list[dict]) -> str:
    """The terminal's list of warnings ("" when none)."""
    found = warnings(rows)
    if not found:
        return ""
    return "warnings (ok runs to read with care):\n" + "\n".join(
        f"  {w['method']} {w['task']} seed {w['seed']} ({w['setting']}): {w['warning']}" for w in found
    )

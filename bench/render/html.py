"""Result rows -> one self-contained HTML report (Jinja2 template, inline CSS and SVG, no network).

The sections are built by pure functions from rows: the headline, the main table and switching here;
the choice under a budget, sweep, paired, generation and claims sections in sections.py; failures,
provenance, the CSV and history in appendix.py. `write_report` is the only I/O. The report reads rows,
never live objects.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

from bench.analysis import aggregate as agg
from bench.analysis import health
from bench.analysis.decide import AHEAD, NOT_AHEAD, decide
from bench.analysis.evidence import comparable_slice, overhead_range
from bench.analysis.machine import state_warnings, unrecorded
from bench.analysis.paired import DEFAULT_PAIR
from bench.analysis.selection import main_rows, sweep_points
from bench.errors import BenchError
from bench.render import CSP, appendix, explorer, figures, outline, sections
from bench.render.deploy import deploy_section
from bench.render.sections import ARROW
from bench.render.serving import serving_section
from bench.rows import schema
from bench.rows.memory import OWN_PEAK, fmt_bytes
from bench.rows.metric import fmt_count
from bench.rows.outputs import check_output

TEMPLATES = Path(__file__).resolve().parent / "templates"

# ----------------------------------------------------------------------------- sections (pure)


def fmt_acc(rec: dict) -> str:
    if rec.get("accuracy") is None:
        return "-"
    if rec.get("accuracy_ci_low") is None:
        return f"{rec['accuracy']:.3f}"
    return f"{rec['accuracy']:.3f} [{rec['accuracy_ci_low']:.3f}, {rec['accuracy_ci_high']:.3f}]"


def best_values(records: list[dict], metric: str, direction: str):
    values = [r[metric] for r in records if r.get(metric) is not None]
    if not values:
        return None
    return max(values) if direction == "higher" else min(values)


def method_table(rows: list[dict]) -> list[dict]:
    """One entry per task: {"task", "rows": [{"method", "status", "n", "cells": [...]}]}; the best ok value of
    each column is marked. Cells carry the raw value (data-value) so the report can be checked against rows."""

    tasks: dict[str, list[dict]] = {}
    for rec in agg.group(rows).values():
        tasks.setdefault(rec["task"], []).append(rec)
    swept: dict[tuple, list] = {}
    for pt in sweep_points(rows):
        swept.setdefault((pt.task, pt.method), []).append(pt)
    out = []
    for task, recs in tasks.items():
        ok = [r for r in recs if r["n_ok"]]
        best = {m.name: best_values(ok, m.name, m.direction) for m in schema.metrics("table")}
        lines = []
        for rec in recs:
            cells = []
            for m in schema.metrics("table"):
                metric = m.name
                v = rec.get(metric) if rec["n_ok"] else None
                if v is None:
                    text = "-"
                elif metric == "accuracy":
                    text = fmt_acc(rec)
                elif metric == "trainable_params":
                    text = (
                        f"{fmt_count(v)} ({rec['trainable_pct']:.3g} %)"
                        if rec.get("trainable_pct") is not None
                        else fmt_count(v)
                    )
                else:
                    text = m.text(v)
                cells.append(
                    {
                        "metric": metric,
                        "text": text,
                        "value": v,
                        "best": v is not None and len(ok) > 1 and v == best[metric],
                    }
                )
            status = "ok" if rec["n_ok"] == rec["n"] else ", ".join(rec["statuses"])
            chosen = [pt for pt in swept.get((task, rec["method"]), []) if pt.selected]
            note = (
                f"{chosen[0].label}, best of {len(swept[task, rec['method']])} by validation accuracy" if chosen else ""
            )
            if rec["label"] != rec["method"]:  # this method ran under several settings in this task: say so
                note = ", ".join(filter(None, [rec["label"][len(rec["method"]) + 2 : -1], note]))
            lines.append({"method": rec["method"], "status": status, "n": rec["n"], "cells": cells, "note": note})
        out.append({"task": task, "rows": lines})
    return out


def headline(rows: list[dict], decided: list[dict] | None = None) -> list[str]:
    """One or two sentences per task from the choice under a budget (bench/analysis/decide.py): the most
    accurate healthy method and its margin over the next, then the best choice that trains fewer parameters.
    A method that trains nothing is said to have no adapter wherever it is named."""
    if not agg.by_task(rows):
        if any(r["n_ok"] for r in agg.speed_records(rows)):
            return ["Only runs on random weights (shape-only models) finished ok: no accuracy, see their speed below."]
        return ["No run finished ok: see the failed runs below."]
    decided = decide(rows) if decided is None else decided
    if not decided:
        return ["No healthy ok run: the health checks flag every ok run (see the warnings), so nothing is chosen."]
    out = []
    for t in decided:
        top, trainless = t["top"], set(t["trainless"])

        def named(method: str, acc: float) -> str:
            return f"{method} ({acc:.3f}{', trains nothing: no adapter' if method in trainless else ''})"

        if top.runner_up is None:
            out.append(f"{t['task']}: only {named(top.method, top.accuracy)} has a healthy ok run.")
            continue
        ci = (
            f", paired 95% CI [{top.ci[0]:+.3f}, {top.ci[1]:+.3f}]"
            if top.ci
            else {AHEAD: " (accuracy intervals disjoint)", NOT_AHEAD: " (accuracy intervals overlap)"}.get(top.call, "")
        )
        sentence = (
            f"{t['task']}: {named(top.method, top.accuracy)} is the most accurate of {t['n_methods']} methods, "
            f"{top.margin:+.3f} over {top.runner_up}{ci}: {top.call}."
        )
        steps = next((c["choices"] for c in t["costs"] if c["metric"] == "trainable_params"), [])
        below = [c for c in steps if c.method != top.method and c.limit is not None]
        if top.method in trainless:
            sentence += " No trained method beats it."
        elif below and steps[-1].method == top.method:
            cheaper = below[-1]
            sentence += (
                f" With fewer trainable parameters than its {fmt_count(steps[-1].limit)}: "
                f"{named(cheaper.method, cheaper.accuracy)}."
            )
        out.append(sentence)
    return out


SWITCH_SHOWN = (  # the switching table's optional columns
    "switch_ms_p50",
    "switch_ms_p95",
    "switch_ms_p99",
    "requests_per_s",
    "tokens_per_s",
    "overhead_vs_base_pct",
    "extra_tokens",
    "adapter_bytes_resident",
    "peak_mem_bytes",
    "gate_ok",
)


def switching_section(rows: list[dict]) -> dict | None:
    """None when no switching rows: the template says "not measured in this run"."""
    sw = agg.switch_rows(rows)
    if not sw:
        return None

    ok = [r for r in sw if r.get("status", "ok") == "ok"]
    figs = []
    if any(r.get("switch_ms_p50") is not None for r in ok):
        figs.append(
            (
                "Latency per switch by strategy",
                figures.switch_latency_figure([r for r in ok if r.get("switch_ms_p50") is not None]),
            )
        )

    view = comparable_slice(ok)
    if view:
        r0 = view[0]
        where = f"batch {r0['batch_size']}, {r0['popularity']} popularity, {r0['order']} order, {r0.get('length', '')} inputs"
        figs.append((f"Throughput against the number of tasks ({where})", figures.switch_curve_figure(view)))
        figs.append(
            (
                f"Time against the base model ({where})",
                figures.switch_curve_figure(
                    [r for r in view if r["strategy"] != "base"],
                    "overhead_vs_base_pct",
                    "time vs base, % (lower is better)",
                ),
            )
        )
    return {
        "rows": [{**dict.fromkeys(SWITCH_SHOWN), **r, "spread": _spread(r, sw)} for r in sw],  # missing: "-"
        "figures": figs,
        "break_even": break_even(ok),
        "gates_failed": [r for r in sw if r.get("gate_ok") is False],
    }


def _spread(row: dict, rows: list[dict]) -> str:
    """The spread of a switch row's time against the base model's over their repeats ("" without one)."""
    workload = ("created_at", "n_tasks", "batch_size", "popularity", "order", "length")
    base = next((b for b in rows if b["strategy"] == "base" and all(b.get(k) == row.get(k) for k in workload)), None)
    if row.get("overhead_vs_base_pct") is None or row["strategy"] == "base" or base is None:
        return ""
    lo, hi = overhead_range(row, base)
    return f"{lo:+.1f} to {hi:+.1f} %" if lo != hi else ""


def break_even(rows: list[dict]) -> list[str]:
    """Requests per task after which merging beats unmerged serving (merge_swap rows carry the figure:
    swap cost / per-request time saved), one sentence per measured slice."""
    out = []
    for r in rows:
        if r.get("strategy") != "merge_swap" or "break_even_requests_per_task" not in r:
            continue
        k = r["break_even_requests_per_task"]
        where = f"N = {r['n_tasks']}, batch {r['batch_size']}, {r['popularity']} / {r['order']}, {r.get('length', '')} inputs"
        out.append(
            f"{where}: merging pays after {k:.1f} requests per task"
            if k is not None
            else f"{where}: merging never pays (unmerged serving is not slower per request)"
        )
    return out


def context(rows: list[dict], history: list[list[dict]] | None = None, pair: tuple[str, str] = DEFAULT_PAIR) -> dict:
    decided = decide(rows)
    chosen = bool(agg.by_task(rows))  # ok runs with an accuracy: a choice, a table of methods, Pareto plots
    deploy = deploy_section(rows)
    ctx = {
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "n_rows": len(rows),
        "n_ok": sum(r.get("status") == "ok" for r in rows),
        "decide": sections.decide_section(decided),
        "headline": opening(rows, decided),
        "columns": [
            {"metric": m.name, "header": m.header, "arrow": ARROW[m.direction], "direction": m.direction}
            for m in schema.metrics("table")
        ],
        "tables": method_table(rows),
        "sweep": sections.sweep_section(rows),
        "paired": sections.paired_section(rows, pair),
        "generation": sections.generation_section(rows),
        "speed": sections.speed_section(rows),
        "pareto": _pareto(rows) if chosen else [],
        "switching": switching_section(rows),
        "serving": serving_section(rows),
        "explorer": explorer.explorer_section(rows, [explorer.deploy_dataset(deploy)]),
        "deploy": deploy,
        "claims": sections.claims_section(rows),
        "spectrum": _spectrum_figure(rows),
        "failures": appendix.failures(rows),
        "warnings": health.warnings(rows),
        "machine": state_warnings(rows) + unrecorded(rows),
        "provenance": appendix.provenance(rows),
        "csv_uri": appendix.csv_data_uri(rows),
        "history": appendix.history_section(history),
    }
    present = {
        **ctx,
        "decide": chosen,  # with no healthy run among them, the section says so
        "headline": True,
        "tables": any(t["rows"] for t in ctx["tables"]),
        "claims": ctx["claims"]["measured"] or ctx["claims"]["unmeasured"],
        "failures": ctx["failures"] or ctx["warnings"],
        "provenance": True,
    }
    ctx["show"] = {sid: bool(present.get(key)) for key, sid, _ in outline.SECTIONS}
    ctx["nav"] = outline.nav(present)
    return ctx


def opening(rows: list[dict], decided: list[dict]) -> list[str]:
    """What the report opens with: the decision of each kind of row it holds (a method to choose from run rows,
    a serving strategy from serve rows, a switching strategy from switch rows)."""
    out = headline(rows, decided) if outline.has_runs(rows) else []
    out += outline.serving_decision(rows) + outline.switching_decision(rows)
    return out or headline(rows, decided)


def _pareto(rows: list[dict]) -> list[tuple[str, str]]:
    recs = [r for r in agg.group(rows).values() if r["n_ok"]]
    return [
        (
            "Accuracy vs trainable parameters",
            figures.pareto_figure(
                [r for r in recs if r.get("trainable_params")],
                "trainable_params",
                "trainable parameters (log)",
                log_x=True,
            ),
        ),
        (
            "Accuracy vs the run's own peak memory (process peak less what was resident before the model)",
            figures.pareto_figure(
                [{**r, "peak_mem_mib": (r.get(OWN_PEAK) or 0) / 2**20 or None} for r in recs],
                "peak_mem_mib",
                "run's own peak memory (MiB)",
            ),
        ),
        (
            "Accuracy vs inference throughput",
            figures.pareto_figure(recs, "infer_tokens_per_s", "inference tokens/s (batch 1)", x_lower_better=False),
        ),
    ]


def _spectrum_figure(rows: list[dict]) -> str | None:

    spectra = [r for r in main_rows(rows) if r.get("status") == "ok" and r.get("update_spectrum")]
    return figures.spectrum_figure(spectra) if spectra else None


# ----------------------------------------------------------------------------- I/O


def render(rows: list[dict], history: list[list[dict]] | None = None, pair: tuple[str, str] = DEFAULT_PAIR) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["bytes"] = fmt_bytes  # 970.3 MiB, never raw bytes
    ctx = context(rows, history, pair)
    return env.get_template("report.html.j2").render(**ctx, csp=explorer.csp() if ctx["explorer"] else CSP)


def write_report(
    rows: list[dict], out: Path, history: list[list[dict]] | None = None, pair: tuple[str, str] = DEFAULT_PAIR
) -> Path:
    if not rows:
        raise BenchError("no result rows to report")
    out = Path(out)
    if out.is_dir():
        raise BenchError(f"report output {out} is a folder; give an .html file")
    html = render(rows, history, pair)
    tmp = out.with_name(out.name + ".tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(html, encoding="utf-8")
        tmp.replace(out)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise BenchError(f"cannot write report {out}: {e.strerror}") from None
    return out


def report_after_run(rows: list[dict], results: Path, default_location: bool = True) -> str:
    """The report at the end of `bench run`: report/<results name>.html for the default results path,
    else beside the results file. The rows are already stored, so a report that fails is a warning."""
    results = Path(results)
    out = Path("report") / f"{results.stem}.html" if default_location else results.with_suffix(".html")
    if out.resolve() == results.resolve():  # rows kept in a .html file: the report goes beside them
        out = results.with_name(results.stem + ".report.html")
    try:
        check_output(out, "html", what="report")
        return str(write_report(rows, out))
    except Exception as e:  # noqa: BLE001 - the run's results are safe; say why the report is missing
        print(f"warning: report not written: {type(e).__name__}: {e}", file=sys.stderr)
        return f"not written ({type(e).__name__})"

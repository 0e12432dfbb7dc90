"""Result rows -> one self-contained HTML report (Jinja2 template, inline CSS and SVG, no network).

The sections are built by pure functions from rows (headline, table, switching, failures,
provenance, CSV); `write_report` is the only I/O. The report reads rows, never live objects.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

from bench.analysis import aggregate as agg
from bench.analysis import health
from bench.analysis.claims import assess
from bench.analysis.decide import decide
from bench.analysis.evidence import comparable_slice
from bench.analysis.paired import DEFAULT_PAIR
from bench.analysis.selection import main_rows, sweep_points
from bench.analysis.settings import setting_labels
from bench.errors import BenchError
from bench.render import figures, sections
from bench.render.sections import ARROW
from bench.rows import schema

TEMPLATES = Path(__file__).resolve().parent / "templates"

PROVENANCE_ENV = (
    "torch",
    "transformers",
    "peft",
    "python",
    "platform",
    "device_kind",
    "device_name",
    "num_threads",
    "cuda",
)


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
                        f"{schema.fmt_count(v)} ({rec['trainable_pct']:.3g} %)"
                        if rec.get("trainable_pct") is not None
                        else schema.fmt_count(v)
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


def headline(rows: list[dict]) -> list[str]:
    """Two or three sentences from the numbers: who is most accurate where, who trains fewest parameters,
    who is fastest."""
    tasks = agg.by_task(rows)
    if not tasks:
        return ["No run finished ok: see the failed runs below."]
    parts = []
    for task, methods in tasks.items():
        recs = [r for r in methods.values() if r.get("accuracy") is not None]
        if not recs:
            continue
        top = max(recs, key=lambda r: r["accuracy"])
        equal = [r["method"] for r in recs if r["accuracy"] == top["accuracy"]]
        if len(equal) > 1:
            parts.append(f"{', '.join(equal)} tie on {task} ({fmt_acc(top)})")
            continue
        tied = [r["method"] for r in recs if r is not top and not agg.disjoint_below(r, top)]
        tail = "clearly ahead of the rest" if not tied else f"within noise of {', '.join(tied)}"
        parts.append(f"{top['method']} on {task} ({fmt_acc(top)}, {tail})")
    sentences = ["Most accurate: " + "; ".join(parts) + "."] if parts else []
    per_method = _means_over_tasks(tasks, ("trainable_params", "train_tokens_per_s", "infer_latency_ms_p50"))
    trained = {m: v for m, v in per_method.items() if v["trainable_params"]}
    if trained:
        fewest = min(trained, key=lambda m: trained[m]["trainable_params"])
        s = f"Fewest trainable parameters: {fewest} ({schema.fmt_count(trained[fewest]['trainable_params'])})"
        if "lora" in trained and "prompt_tuning" in trained:
            ratio = trained["lora"]["trainable_params"] / trained["prompt_tuning"]["trainable_params"]
            s += (
                f"; prompt tuning trains {ratio:.1f}x fewer than LoRA"
                if ratio >= 1
                else f"; LoRA trains {1 / ratio:.1f}x fewer than prompt tuning"
            )
        sentences.append(s + ".")
    speed = []
    fast = {m: v["train_tokens_per_s"] for m, v in trained.items() if v["train_tokens_per_s"]}
    if fast:
        m = max(fast, key=fast.get)
        speed.append(f"fastest training: {m} ({fast[m]:,.0f} tokens/s)")
    lat = {m: v["infer_latency_ms_p50"] for m, v in per_method.items() if v["infer_latency_ms_p50"]}
    if lat:
        m = min(lat, key=lat.get)
        speed.append(f"lowest batch-1 latency: {m} ({lat[m]:.2f} ms p50)")
    if speed:
        sentences.append(
            ("Averaged over tasks, " + "; ".join(speed) + ".")
            if len(tasks) > 1
            else (speed[0][0].upper() + "; ".join(speed)[1:] + ".")
        )
    return sentences


def _means_over_tasks(tasks: dict, metrics) -> dict[str, dict]:
    methods = dict.fromkeys(m for recs in tasks.values() for m in recs)
    return {m: {k: agg.mean(recs[m].get(k) for recs in tasks.values() if m in recs) for k in metrics} for m in methods}


def failures(rows: list[dict]) -> list[dict]:
    return [
        {
            "task": r.get("task") or r.get("strategy"),
            "method": r.get("method", r.get("kind")),
            "seed": r.get("seed"),
            "status": r.get("status"),
            "error": (r.get("error") or "(no error text)")[:4000],
        }
        for r in rows
        if r.get("status", "ok") != "ok"
    ]


def provenance(rows: list[dict]) -> list[tuple[str, str]]:
    """(field, "value (n rows); value (n rows)") for every provenance field, rarest last."""

    def values(get):
        counts: dict[str, int] = {}
        for r in rows:
            v = get(r)
            v = "-" if v is None else v
            counts[str(v)] = counts.get(str(v), 0) + 1
        return "; ".join(
            f"{v} ({n} rows)" if len(counts) > 1 else v for v, n in sorted(counts.items(), key=lambda kv: -kv[1])
        )

    dates = sorted(str(r.get("created_at")) for r in rows if r.get("created_at"))
    out = [
        ("git sha", values(lambda r: f"{r.get('git_sha')}" + (" (dirty)" if r.get("git_dirty") else ""))),
        ("created", f"{dates[0]} .. {dates[-1]}" if dates else "-"),
        ("machine id", values(lambda r: r.get("machine_id"))),
        ("suite", values(lambda r: r.get("suite"))),
        ("model", values(lambda r: r.get("model"))),
        ("schema version", values(lambda r: r.get("schema_version"))),
    ]
    out += [(k, values(lambda r, k=k: (r.get("env") or {}).get(k))) for k in PROVENANCE_ENV]
    return out


def flatten(row: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in row.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        elif isinstance(v, (list, tuple)):
            out[key] = json.dumps(v)
        else:
            out[key] = v
    return out


def rows_csv(rows: list[dict]) -> str:
    flat = [flatten(r) for r in rows]
    fields = list(dict.fromkeys(k for f in flat for k in f))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    w.writerows([{k: _cell(v) for k, v in f.items()} for f in flat])
    return buf.getvalue()


def _cell(value):
    """A text cell a spreadsheet would run as a formula (= + - @, tab, carriage return) starts with a quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_data_uri(rows: list[dict]) -> str:
    return "data:text/csv;charset=utf-8;base64," + base64.b64encode(rows_csv(rows).encode()).decode()


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
        "rows": [{**dict.fromkeys(SWITCH_SHOWN), **r} for r in sw],  # an optional field left out shows as "-"
        "figures": figs,
        "break_even": break_even(ok),
        "gates_failed": [r for r in sw if r.get("gate_ok") is False],
    }


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


def history_section(history: list[list[dict]] | None) -> dict | None:
    if not history or len(history) < 2:
        return None

    sets, points, ticks = [], [], []
    for i, rows in enumerate(history, 1):
        shas = sorted({str(r.get("git_sha", "?"))[:10] + ("*" if r.get("git_dirty") else "") for r in rows})
        dates = sorted(str(r.get("created_at", "")) for r in rows)
        sets.append({"n": i, "sha": ", ".join(shas), "created": dates[0] if dates else "-", "rows": len(rows)})
        ticks.append(f"{i}: {shas[0][:8]}" if len(shas) == 1 else str(i))
    runs = [(i, r) for i, rows in enumerate(history, 1) for r in agg.run_rows(rows)]
    labels = setting_labels([r for _, r in runs], group=("task", "method"))  # settings differing across sets
    by_series: dict[tuple, list[dict]] = {}
    for (i, r), label in zip(runs, labels):
        by_series.setdefault((i, r.get("task"), label), []).append(r)
    for (i, task, label), rs in by_series.items():
        for rec in agg.group(rs).values():
            if rec["n_ok"]:
                points.append(
                    {
                        "set": i,
                        "series": f"{task} / {label}",
                        "method": rec["method"],
                        **{m.name: rec.get(m.name) for m in schema.metrics("history")},
                    }
                )
    return {"sets": sets, "figure": figures.history_figure(points, ticks)}


def context(rows: list[dict], history: list[list[dict]] | None = None, pair: tuple[str, str] = DEFAULT_PAIR) -> dict:

    recs = [r for r in agg.group(rows).values() if r["n_ok"]]
    pareto = [
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
            "Accuracy vs peak memory",
            figures.pareto_figure(
                [{**r, "peak_mem_mb": r["peak_mem_bytes"] / 2**20 if r.get("peak_mem_bytes") else None} for r in recs],
                "peak_mem_mb",
                "peak memory MB",
            ),
        ),
        (
            "Accuracy vs inference throughput",
            figures.pareto_figure(recs, "infer_tokens_per_s", "inference tokens/s (batch 1)", x_lower_better=False),
        ),
    ]
    return {
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "n_rows": len(rows),
        "n_ok": sum(r.get("status") == "ok" for r in rows),
        "decide": decide(rows),
        "headline": headline(rows),
        "columns": [
            {"metric": m.name, "header": m.header, "arrow": ARROW[m.direction], "direction": m.direction}
            for m in schema.metrics("table")
        ],
        "tables": method_table(rows),
        "sweep": sections.sweep_section(rows),
        "paired": sections.paired_section(rows, pair),
        "generation": sections.generation_section(rows),
        "pareto": pareto,
        "switching": switching_section(rows),
        "claims": assess(rows),
        "spectrum": _spectrum_figure(rows),
        "failures": failures(rows),
        "warnings": health.warnings(rows),
        "provenance": provenance(rows),
        "csv_uri": csv_data_uri(rows),
        "history": history_section(history),
    }


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
    return env.get_template("report.html.j2").render(**context(rows, history, pair))


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
    try:
        return str(write_report(rows, out))
    except Exception as e:  # noqa: BLE001 - the run's results are safe; say why the report is missing
        print(f"warning: report not written: {type(e).__name__}: {e}", file=sys.stderr)
        return f"not written ({type(e).__name__})"

"""The report's back matter, built from rows (pure): failed runs, provenance (commits, dates, machines,
environment), the CSV of every row to download, and the history across result sets."""

from __future__ import annotations

import base64
import csv
import io
import json

from bench.analysis import aggregate as agg
from bench.analysis.settings import setting_labels
from bench.render import figures
from bench.rows import schema
from bench.rows.frame import safe_cell

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
    if any(r.get("source") for r in rows):  # rows of several files: each file and its rows
        out.insert(0, ("results file", values(lambda r: r.get("source"))))
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
    w.writerow({k: safe_cell(k) for k in fields})  # column names come from the rows too
    w.writerows([{k: safe_cell(v) for k, v in f.items()} for f in flat])
    return buf.getvalue()


def csv_data_uri(rows: list[dict]) -> str:
    return "data:text/csv;charset=utf-8;base64," + base64.b64encode(rows_csv(rows).encode()).decode()


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

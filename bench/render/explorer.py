"""The report's explorer: any two metrics of a set of records against each other, filtered, with the frontier
redrawn, in the browser from file:// (pure, but for reading the script once).

The page embeds, as JSON, one or more data sets: a list of records (one point each), the axes a person may
pick (from the metric table, bench/rows/schema.py, each with its better direction, or a setting with none),
the facets to filter by, the facets the frontier is drawn apart for (each task has its own) and a colour per
value of one facet (the figures' colours, bench/render/palette.py). `dataset` takes any list of dicts, so a
new table (the deployment table, say) plugs in as one more data set; `run_dataset` and `serve_dataset` build
the two the rows give. The script (explorer.js, the package's own, no library) draws SVG; the page's
Content-Security-Policy allows that one script by its sha256 hash and still blocks every load.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

from bench.analysis import aggregate as agg
from bench.analysis.fleets import serve_rows
from bench.analysis.selection import main_rows
from bench.analysis.settings import setting_labels, settings
from bench.render import CSP
from bench.render.palette import colour as palette_colour
from bench.rows.memory import own_peak
from bench.rows.metric import Metric
from bench.rows.schema import metrics

SCRIPT = Path(__file__).resolve().parent / "explorer.js"
MAX_IDS = 12  # run ids listed in a point's hover text; the rest are counted


@dataclass(frozen=True)
class Axis:
    """What the explorer may draw on an axis: a record's field, its label, unit and better direction
    ("higher", "lower", or None for a setting: then no frontier is drawn)."""

    name: str
    label: str
    unit: str
    direction: str | None
    description: str = ""


def axis(m: Metric) -> Axis:
    """A declared metric as an axis: labelled by its field name, described by the metric table."""
    return Axis(m.name, m.name, m.unit, m.direction, m.description)


def declared_axes(names: Iterable[str]) -> list[Axis]:
    """The axes of the named fields that the metric table declares, in the order given (others left out)."""
    by_name = {m.name: m for m in metrics()}
    return [axis(by_name[n]) for n in names if n in by_name]


def _number(v) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return v


def dataset(
    key: str,
    title: str,
    records: Iterable[dict],
    axes: Iterable[Axis],
    facets: Iterable[str],
    colour_by: str,
    colour: Callable[[str], str],
    x: str,
    y: str,
    front_by: Iterable[str] = (),
    info: Callable[[dict], str] = lambda r: "",
) -> dict | None:
    """One data set of the explorer (None when no axis has two values to draw): a point per record, with its
    value on every axis that has one, its facets (text), its run ids (the record's "run_ids", or "run_id")
    and `info(record)`, the settings its hover names. `x` and `y`: the axes it opens on (where they have values)."""
    records = list(records)
    axes = [a for a in axes if sum(_number(r.get(a.name)) is not None for r in records) >= 1]
    if len(axes) < 2 or not records:
        return None
    facets, front_by = list(facets), list(front_by)
    points = []
    for r in records:
        ids = [str(i) for i in (r.get("run_ids") or ([r["run_id"]] if r.get("run_id") else []))]
        points.append(
            {
                "v": {a.name: _number(r.get(a.name)) for a in axes if _number(r.get(a.name)) is not None},
                "f": {f: str(r.get(f, "-")) for f in dict.fromkeys(facets + front_by + [colour_by])},
                "ids": ids[:MAX_IDS] + ([f"and {len(ids) - MAX_IDS} more"] if len(ids) > MAX_IDS else []),
                "info": info(r),
            }
        )
    names = [a.name for a in axes]
    x = x if x in names else names[0]
    y = y if y in names and y != x else next(n for n in names if n != x)
    values = dict.fromkeys(p["f"][colour_by] for p in points)
    return {
        "id": key,
        "title": title,
        "axes": [asdict(a) for a in axes],
        "facets": facets,
        "front_by": front_by,
        "colour_by": colour_by,
        "colours": {v: colour(v) for v in values},
        "x": x,
        "y": y,
        "points": points,
    }


def _params(row: dict) -> str:
    """A run's settings as its hover shows them: model, budget and method parameters."""
    return ", ".join(f"{k}={v}" for k, v in settings(row).items())


def run_dataset(rows: list[dict]) -> dict | None:
    """One point per (model, task, method and its differing settings): the means of every run metric over
    its ok runs (a sweep: its selected setting only, as in the report's tables), with their run ids."""
    runs = [r for r in agg.run_rows(main_rows(rows)) if r.get("status") == "ok"]
    groups: dict[tuple, list[dict]] = {}
    for r, name in zip(runs, setting_labels(runs, group=("model", "task", "method"))):
        groups.setdefault((r.get("model"), r.get("task"), name), []).append(r)
    run_metrics = metrics(kind="run")
    records = []
    for (model, task, name), rs in groups.items():
        rec = {m.name: agg.mean(r.get(m.name) for r in rs) for m in run_metrics}
        rec["peak_mem_own_bytes"] = agg.mean(own_peak(r) for r in rs)
        seeds = ", ".join(str(s) for s in sorted({r.get("seed") for r in rs}, key=str))
        info = f"{len(rs)} ok run{'s' if len(rs) != 1 else ''} (seeds {seeds}); {_params(rs[0])}"
        rec.update(model=model, task=task, method=name, run_ids=[r.get("run_id") for r in rs], info=info)
        records.append(rec)
    return dataset(
        "runs",
        "Training runs: one point per task, model and method (means over its ok runs)",
        records,
        [axis(m) for m in run_metrics],
        facets=("task", "model", "method"),
        colour_by="method",
        colour=palette_colour,
        x="trainable_params",
        y="accuracy",
        front_by=("task", "model"),
        info=lambda r: r["info"],
    )


SERVE_SETTINGS = (  # serve settings a person may put on an axis: no direction, so no frontier
    Axis("n_tasks", "n_tasks", "tasks", None, "tasks (adapters) served"),
    Axis("rank", "rank", "rank", None, "the adapters' LoRA rank"),
    Axis("slo_ms", "slo_ms", "ms", None, "the SLO: p99 latency the rate at the SLO meets"),
    Axis("tokens_per_request", "tokens_per_request", "tokens", None, "tokens per request"),
)
SERVE_FACETS = ("model", "strategy", "n_tasks", "rank")


def serve_dataset(rows: list[dict]) -> dict | None:
    """One point per ok serve row (a strategy at one N of one fleet)."""
    ok = serve_rows(rows)
    apart = ("layers", "dtype", "hidden_size", "targets", "popularity", "arrivals", "source")
    differ = [k for k in apart if len({str(r.get(k)) for r in ok}) > 1]  # fleets that differ in more than N
    records = [{**r, "info": _serve_info(r, differ)} for r in ok]
    return dataset(
        "serve",
        "Serving under load: one point per strategy and fleet",
        records,
        [axis(m) for m in metrics(kind="serve")] + list(SERVE_SETTINGS),
        facets=(*SERVE_FACETS, *differ),
        colour_by="strategy",
        colour=palette_colour,
        x="adapter_bytes_resident",
        y="rate_at_slo_rps",
        front_by=("model", "n_tasks", "rank", *differ),
        info=lambda r: r["info"],
    )


DEPLOY_AXES = (
    Axis("accuracy", "accuracy", "fraction", "higher", "the trained method's test accuracy (mean over its runs)"),
    Axis("rate_at_slo_rps", "rate_at_slo_rps", "req/s", "higher", "the highest rate whose p99 meets the SLO at N"),
    Axis("memory_bytes", "memory_bytes", "bytes", "lower", "resident memory for N tasks"),
    Axis("n_tasks", "n_tasks", "tasks", None, "tasks (adapters) served"),
)


def deploy_dataset(deploy: dict | None) -> dict | None:
    """One point per pair of the report's deployment tables (bench/render/deploy.py): a trained method with a
    strategy that can serve it, at one served N."""
    if not deploy:
        return None
    records = [
        {
            **r,
            "n_tasks": t["n"],
            "run_ids": [i for i in (r.get("run_id"), r.get("serve_run_id")) if i],
            "info": f"{r['method']} + {r['strategy']} at N = {t['n']}"
            + (f"; missing: {r['missing']}" if r.get("missing") else "")
            + (f"; assumed: {r['note']}" if r.get("note") else ""),
        }
        for t in deploy["tables"]
        for r in t["rows"]
    ]
    return dataset(
        "deploy",
        f"Deployment: each trained method with each strategy that can serve it ({deploy['model']} on {deploy['task']})",
        records,
        DEPLOY_AXES,
        facets=("method", "strategy", "n_tasks"),
        colour_by="strategy",
        colour=palette_colour,
        x="rate_at_slo_rps",
        y="accuracy",
        front_by=("n_tasks",),
        info=lambda r: r["info"],
    )


def _serve_info(row: dict, differ: list[str]) -> str:
    keys = ("model", "layers", "dtype", "rank", "n_tasks", "targets", "popularity", "arrivals", "max_batch")
    parts = [f"{k}={row[k]}" for k in dict.fromkeys(keys + tuple(differ)) if row.get(k) is not None]
    if row.get("slo_rule"):
        parts.append(f"SLO rule: {row['slo_rule']}")
    return ", ".join(parts)


def payload(datasets: Iterable[dict | None]) -> str:
    """The data sets as JSON safe inside <script type="application/json">: no `<`, `>` or `&` as themselves
    (so no `</script>` and no `<!--`), each written as its \\u escape, which JSON.parse reads back."""
    text = json.dumps([d for d in datasets if d], separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@cache
def script() -> str:
    return SCRIPT.read_text(encoding="utf-8")


def csp() -> str:
    """The report's policy: every load blocked (CSP) and one inline script allowed, the explorer's, by hash."""
    digest = base64.b64encode(hashlib.sha256(script().encode("utf-8")).digest()).decode()
    return f"{CSP}; script-src 'sha256-{digest}'"


def explorer_section(rows: list[dict], extra: Iterable[dict | None] = ()) -> dict | None:
    """The explorer's context ({"data": JSON text, "script": the script, "n": data sets}), None when no data
    set has anything to draw. `extra`: more data sets built by `dataset` (a table of another kind)."""
    sets = [d for d in (run_dataset(rows), serve_dataset(rows), *extra) if d]
    if not sets:
        return None
    return {"data": payload(sets), "script": script(), "n": len(sets)}

"""What a report opens with and which sections it holds (pure).

Each kind of row makes its own decision: run rows choose a method (the headline in html.py), serve rows
the strategy that serves the most requests within the SLO, switch rows the fastest strategy per workload.
A report opens with the decisions of the kinds it holds, leaves out the sections it has nothing for, and its
navigation links exactly the sections present."""

from __future__ import annotations

from bench.analysis import aggregate as agg
from bench.analysis.fleets import SETTING, fleet_key, serve_rows, validation

MAX_SENTENCES = 4  # per kind of row; the rest are in their section

SECTIONS = (  # (context key, section id, navigation label), in the page's order
    ("decide", "decide", "Decide"),
    ("headline", "headline", "In short"),
    ("tables", "table", "Table"),
    ("sweep", "lr-sweep", "Sweep"),
    ("paired", "paired", "Paired"),
    ("speed", "speed", "Speed at shapes"),
    ("generation", "generation", "Generation"),
    ("pareto", "pareto", "Pareto"),
    ("switching", "switching", "Switching"),
    ("serving", "serving", "Serving"),
    ("deploy", "deploy", "Deployment"),
    ("explorer", "explorer", "Explore"),
    ("claims", "claims", "Claims"),
    ("failures", "failures", "Failures"),
    ("provenance", "provenance", "Provenance"),
    ("history", "history", "History"),
)


def has_runs(rows: list[dict]) -> bool:
    return bool(agg.run_rows(rows))


NAMED_APART = ("model", "layers", "rank", "n_tasks", "slo_ms")  # named apart


def model_label(row: dict) -> str:
    """'shape:llama-3.2-1b (2 layers)': the model and, where recorded, its number of layers."""
    layers = row.get("layers")
    return str(row.get("model", "-")) + (f" ({layers} layer{'s' if layers != 1 else ''})" if layers else "")


def fleet_label(row: dict, differ: list[str]) -> str:
    """'shape:llama-3.2-1b (2 layers), r=16, N=64, SLO p99 47587 ms' plus the settings among `differ`."""
    parts = [model_label(row), f"r={row.get('rank')}", f"N={row.get('n_tasks')}"]
    parts += [f"{k}={row[k]}" for k in differ if k not in NAMED_APART and row.get(k) is not None]
    if row.get("slo_ms") is not None:
        parts.append(f"SLO p99 {row['slo_ms']:.0f} ms")
    return ", ".join(parts)


def serve_differing(rows: list[dict]) -> list[str]:
    """The serve settings (the SLO among them) that take more than one value across `rows`."""
    keys = SETTING + ("slo_ms",)
    return [k for k in keys if len({str(r.get(k)) for r in rows}) > 1]


def serving_decision(rows: list[dict]) -> list[str]:
    """Per fleet (every setting and the SLO equal but the strategy), the strategy with the highest rate at the
    SLO, relative to the base model, with the simulation's p99 error; then the others' rates relative to base."""
    ok = serve_rows(rows)
    fleets: dict[tuple, list[dict]] = {}
    for r in ok:
        fleets.setdefault((fleet_key(r), str(r.get("slo_ms"))), []).append(r)
    differ = serve_differing(ok)
    out = []
    for group in fleets.values():
        rated = sorted((r for r in group if r.get("rate_at_slo_rps") is not None), key=lambda r: -r["rate_at_slo_rps"])
        if not rated:
            continue
        best = rated[0]
        v = validation(best)
        err = f"simulation p99 error {v.p99_err_pct:+.0f} %" if v.p99_err_pct is not None else "p99 not validated"
        vs = (
            f", {best['rate_vs_base']:.2f}x the base model's"
            if best["strategy"] != "base" and best.get("rate_vs_base")
            else ""
        )
        others = [
            f"{r['strategy']} {r['rate_vs_base']:.2f}x"
            for r in rated[1:]
            if r.get("rate_vs_base") is not None and r["strategy"] != "base"
        ]
        sentence = (
            f"{fleet_label(best, differ)}: the highest rate within the SLO is {best['strategy']}'s, "
            f"{best['rate_at_slo_rps']:.2f} requests/s{vs} ({err})."
        )
        out.append(sentence + (f" The others against the base model: {', '.join(others)}." if others else ""))
    return _capped(out, "Serving under load")


def switching_decision(rows: list[dict]) -> list[str]:
    """Per workload (N, batch, popularity, order, inputs), the ok strategy with the most requests per second and
    its time against the base model."""
    workloads: dict[tuple, list[dict]] = {}
    for r in agg.switch_rows(rows):
        if r.get("status", "ok") == "ok" and r.get("requests_per_s") is not None:
            key = tuple(r.get(k) for k in ("model", "n_tasks", "batch_size", "popularity", "order", "length"))
            workloads.setdefault(key, []).append(r)
    out = []
    for (model, n, batch, pop, order, length), group in workloads.items():
        adapted = [r for r in group if r["strategy"] != "base"] or group
        best = max(adapted, key=lambda r: r["requests_per_s"])
        over = best.get("overhead_vs_base_pct")
        vs = f", {over:+.1f} % time against the base model" if over is not None and best["strategy"] != "base" else ""
        out.append(
            f"{model}, N = {n}, batch {batch}, {pop} / {order}, {length} inputs: {best['strategy']} is the fastest "
            f"of {len(adapted)} strategies at {best['requests_per_s']:.1f} requests/s{vs}."
        )
    return _capped(out, "Multi-task switching")


def _capped(sentences: list[str], title: str) -> list[str]:
    if len(sentences) <= MAX_SENTENCES:
        return sentences
    rest = len(sentences) - MAX_SENTENCES
    return sentences[:MAX_SENTENCES] + [f"{rest} more in {title} below."]


def nav(ctx: dict) -> list[tuple[str, str]]:
    """(section id, label) for each section the report holds, in the page's order."""
    return [(sid, label) for key, sid, label in SECTIONS if ctx.get(key)]

"""Report sections built from rows or their analyses (pure): the choice under a budget as a table per
task, the learning-rate sweep, the paired comparison of two methods, generation tasks' quality and serving
clocks, the speed of runs on random weights (shape-only models), and the claims (measured ones as cards, the
rest in one line naming what would measure them)."""

from __future__ import annotations

from bench.analysis import aggregate as agg
from bench.analysis.claims import NEEDS, NOT_MEASURED, assess, left_out_note
from bench.analysis.decide import COSTS, NONE_TEXT, Choice
from bench.analysis.paired import fmt_gap, fmt_p, paired
from bench.analysis.selection import sweep_points
from bench.rows.schema import metric, metrics

ARROW = {"higher": "↑", "lower": "↓"}


def sweep_section(rows: list[dict]) -> list[dict]:
    """One line per swept (task, model, method, setting), the selected setting marked (empty: no sweep)."""

    def f(v):
        return "-" if v is None else f"{v:.3f}"

    return [
        {
            "task": p.task,
            "model": p.model,
            "method": p.method,
            "setting": p.setting,
            "lr": "-" if p.lr is None else f"{p.lr:g}",
            "val_accuracy": f(p.val_accuracy),
            "val_seeds": (f"seed{'s' if len(p.val_seeds) > 1 else ''} " + ", ".join(map(str, p.val_seeds)))
            if p.val_seeds
            else "-",  # "seed 0", never a bare 0 that reads as a count
            "accuracy": f(p.accuracy),
            "n": p.n,
            "n_ok": p.n_ok,
            "selected": p.selected,
        }
        for p in sweep_points(rows)
    ]


def paired_section(rows: list[dict], pair: tuple[str, str]) -> dict | None:
    """The paired comparison of `pair` per task and model (bench/analysis/paired.py); None when no seed pairs up."""

    found = paired(rows, pair)
    if not found:
        return None
    return {
        "a": pair[0],
        "b": pair[1],
        "rows": [
            {
                "task": c.task,
                "model": c.model,
                "seeds": ", ".join(map(str, c.seeds)),
                "gap": c.gap,
                "gap_text": fmt_gap(c),
                "ci_from": c.ci_from or "-",
                "p_seeds": fmt_p(c.p_seeds),
                "p_examples": fmt_p(c.p_examples),
                "n_examples": c.n_examples or "-",
            }
            for c in found
        ],
    }


def generation_section(rows: list[dict]) -> dict | None:
    """Generation tasks: the task's metric beside exact match, ROUGE-L, BLEU (0-1), and the serving clocks of
    fixed-length greedy decoding at batch 1 and batch N. None when no generation run is ok."""
    recs = [r for r in agg.group(rows).values() if r["n_ok"] and r.get("gen_tokens_per_s") is not None]
    if not recs:
        return None
    first = recs[0]
    out = []
    for rec in recs:
        cells = [
            {"metric": m.name, "value": rec.get(m.name), "text": m.text(rec.get(m.name))} for m in metrics("generation")
        ]
        out.append({"task": rec["task"], "method": rec["method"], "metric": rec.get("metric"), "cells": cells})
    return {
        "columns": [{"header": m.header, "arrow": ARROW[m.direction]} for m in metrics("generation")],
        "rows": out,
        "new_tokens": first.get("gen_new_tokens"),
        "batch_size": first.get("gen_batch_size"),
    }


def column_header(m) -> str:
    """A metric's column header: its report header, else its name in words."""
    return m.header if m.header != m.name else m.name.replace("_", " ")


def shape_model(rec: dict) -> str:
    """'shape:llama-3.2-1b, 2 layers, bf16': a shape-only model as a speed record's runs ran it."""
    return f"{rec['model']}, {rec['layers']} layer{'' if rec['layers'] == 1 else 's'}, {rec['dtype']}"


def speed_section(rows: list[dict]) -> dict | None:
    """Runs on random weights (shape-only models): per model (layers, dtype), task and method, the means over
    seeds of their speed, size and memory; generation runs show their decoding rates in the inference
    columns. No accuracy: such runs have none. None when there are no such runs."""
    recs = agg.speed_records(rows)
    if not recs:
        return None
    columns = [metric(name) for name in agg.SPEED_METRICS]
    out = []
    for rec in recs:
        cells = []
        for m in columns:
            v = rec[m.name] if rec[m.name] is not None or not m.stand_in else rec.get(m.stand_in)
            v = v if rec["n_ok"] else None
            text = m.text(v)
            if m.name == "trainable_params" and v is not None and rec.get("trainable_pct") is not None:
                text = f"{text} ({rec['trainable_pct']:.3g} %)"
            cells.append({"metric": m.name, "value": v, "text": text})
        status = "ok" if rec["n_ok"] == rec["n"] else ", ".join(rec["statuses"])
        out.append(
            {"model": shape_model(rec), "task": rec["task"], "method": rec["label"], "status": status, "n": rec["n"]}
        )
        out[-1]["cells"] = cells
    return {"columns": [{"header": column_header(m), "arrow": ARROW[m.direction]} for m in columns], "rows": out}


def _margin_text(c: Choice) -> str:
    if c.runner_up is None:
        return "-"
    if c.ci is None:
        return f"{c.margin:+.3f}"
    return f"{c.margin:+.3f} [{c.ci[0]:+.3f}, {c.ci[1]:+.3f}]"


def _choice_row(c: Choice, trainless: set, fmt) -> dict:
    bound = "none" if c.limit == 0 and c.cost in NONE_TEXT else f"≤ {fmt(c.limit)}" if c.cost else "no limit"
    return {
        "bound": bound,
        "method": c.method,
        "no_adapter": c.method in trainless,
        "accuracy": f"{c.accuracy:.3f}",
        "runner_up": c.runner_up or "-",
        "margin": _margin_text(c),
        "margin_from": "paired" if c.paired_ci else ("intervals" if c.runner_up else ""),
        "call": c.call,
        "verdict": c.verdict,
        "run_ids": c.run_ids,
    }


def decide_section(decided: list[dict]) -> list[dict]:
    """One compact table per task, its rows in groups: the choice with no limit, then per cost the limits
    where the choice changes, each row with its method, accuracy, runner-up, margin (paired 95 % CI where there is one), the
    call, and the whole sentence and run ids behind it (for a tooltip and data attributes)."""
    fmt = {metric: f for metric, _, f in COSTS}
    return [
        {
            "task": t["task"],
            "n_methods": t["n_methods"],
            "groups": [{"cost": "", "metric": "none", "choices": [_choice_row(t["top"], set(t["trainless"]), None)]}]
            + [
                {
                    "cost": c["cost"],
                    "metric": c["metric"],
                    "choices": [_choice_row(ch, set(t["trainless"]), fmt[c["metric"]]) for ch in c["choices"]],
                }
                for c in t["costs"]
            ],
        }
        for t in decided
    ]


def numbers_text(numbers: list[int]) -> str:
    """'claim 3', 'claims 1, 2', 'claims 4-6': runs of three or more consecutive numbers as a range."""
    runs: list[list[int]] = []
    for n in sorted(numbers):
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    parts = [f"{r[0]}-{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs]
    return ("claim " if len(numbers) == 1 else "claims ") + ", ".join(parts)


def claims_section(rows: list[dict]) -> dict:
    """{"measured": the claims with a verdict, "unmeasured": one entry per need (bench/analysis/claims.py
    NEEDS) of the claims not measured, in claim order, "note": how many flagged runs were left out}."""
    found, note = assess(rows), left_out_note(rows)
    groups: dict = {}
    for c in found:
        if c.verdict == NOT_MEASURED:
            groups.setdefault(NEEDS[c.number], []).append(c)
    unmeasured = [
        {
            "claims": [c.number for c in cs],
            "numbers": numbers_text([c.number for c in cs]),
            "rows": need.rows,
            "suite": need.suite,
            "switch": need.switch,
            "evidence": " ".join(dict.fromkeys(e for c in cs for e in c.evidence if e != note)),
        }
        for need, cs in groups.items()
    ]
    return {"measured": [c for c in found if c.verdict != NOT_MEASURED], "unmeasured": unmeasured, "note": note}

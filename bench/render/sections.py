"""Report sections for tuning and generation, built from rows (pure): the learning-rate sweep, the
paired comparison of two methods, and generation tasks' quality and serving clocks."""

from __future__ import annotations

from bench.analysis import aggregate as agg
from bench.analysis.paired import fmt_gap, fmt_p, paired
from bench.analysis.selection import sweep_points
from bench.rows.schema import metrics

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
    """The paired comparison of `pair` per task and model (bench/paired.py); None when no seed pairs up."""

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

"""Learning-rate sweeps: which rate each swept method keeps, and the rows the main numbers use (pure).

A (task, model, method) group is swept when any of its run rows carries `lr_sweep` (bench/suite.py
writes it on every run of a `lr_sweep:` suite). Within a swept group every run row is one point of
the sweep, keyed by `method_params.lr` (a plain run of the same method at one of the rates, kept by
--resume, counts as that rate). The selected rate is the one with the best mean `val_accuracy` over
its ok rows at the seeds every candidate rate has (so more seeds run at the chosen rate after the
sweep neither change the comparison nor flip the choice; all of each rate's ok rows when the rates
share no seed); ties (within 1e-9) go to the smaller rate, the cautious choice. Rates whose ok rows
have no validation accuracy are not candidates: the test set never picks a rate.

The main numbers (aggregate.group and everything built on it, the terminal summary, the claims) use
only the selected rate's rows; the other rates stay in the store and in the report's sweep table.
Groups without sweep rows are untouched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

TIE = 1e-9  # mean validation accuracies this close are a tie


@dataclass(frozen=True)
class LrPoint:
    """One rate of one swept (task, model, method): means over its ok rows."""

    task: str
    model: str
    method: str
    lr: float | None  # None: a row without method_params.lr (a run that failed before its parameters resolved)
    n: int  # rows at this rate
    n_ok: int
    val_accuracy: float | None  # mean over ok rows that have one, at the seeds shared by every candidate rate
    val_seeds: tuple  # the seeds val_accuracy is over
    accuracy: float | None  # test accuracy, mean over ok rows (shown, never used to select)
    selected: bool


def _is_run(row: dict) -> bool:
    return row.get("kind", "run") == "run"


def group_key(row: dict) -> tuple:
    return row.get("task"), row.get("model"), row.get("method")


def _lr(row: dict) -> float | None:
    lr = (row.get("method_params") or {}).get("lr")
    return float(lr) if isinstance(lr, (int, float)) and not isinstance(lr, bool) else None


def _is_num(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and not math.isnan(x)


def _mean(values) -> float | None:
    v = [x for x in values if _is_num(x)]
    return sum(v) / len(v) if v else None


def swept_groups(rows: list[dict]) -> set[tuple]:
    """(task, model, method) of every group with at least one sweep row."""
    return {group_key(r) for r in rows if _is_run(r) and r.get("lr_sweep")}


def choose(val_by_lr: dict[float, float | None]) -> float | None:
    """The rate with the highest mean validation accuracy; ties -> the smaller rate; None when no rate has one."""
    scored = {lr: v for lr, v in val_by_lr.items() if lr is not None and v is not None}
    if not scored:
        return None
    best = max(scored.values())
    return min(lr for lr, v in scored.items() if v >= best - TIE)


def _has_val(row: dict) -> bool:
    return _is_num(row.get("val_accuracy"))


def shared_seeds(ok_by_lr: dict[float | None, list[dict]]) -> set | None:
    """The seeds at which every candidate rate (one with a validation accuracy) has an ok row; None when
    they share none (then each rate is taken over all its rows)."""
    seeds = [{r.get("seed") for r in rs if _has_val(r)} for lr, rs in ok_by_lr.items() if lr is not None]
    seeds = [s for s in seeds if s]
    common = set.intersection(*seeds) if seeds else set()
    return common or None


def sweep_points(rows: list[dict]) -> list[LrPoint]:
    """Every rate of every swept group, in order of first appearance then rate, the selected one marked."""
    swept = swept_groups(rows)
    by_group: dict[tuple, dict[float | None, list[dict]]] = {}
    for r in rows:
        if _is_run(r) and group_key(r) in swept:
            by_group.setdefault(group_key(r), {}).setdefault(_lr(r), []).append(r)
    out = []
    for (task, model, method), by_lr in by_group.items():
        ok = {lr: [r for r in rs if r.get("status") == "ok"] for lr, rs in by_lr.items()}
        common = shared_seeds(ok)
        scored = {lr: [r for r in ok[lr] if _has_val(r) and (common is None or r.get("seed") in common)]
                  for lr in by_lr}
        val = {lr: _mean(r["val_accuracy"] for r in scored[lr]) for lr in by_lr}
        chosen = choose(val)
        for lr in sorted(by_lr, key=lambda x: (x is None, x or 0.0)):
            seeds = tuple(sorted({r.get("seed") for r in scored[lr]}, key=str))
            out.append(LrPoint(task, model, method, lr, len(by_lr[lr]), len(ok[lr]), val[lr], seeds,
                               _mean(r.get("accuracy") for r in ok[lr]), lr is not None and lr == chosen))
    return out


def selected_lrs(rows: list[dict]) -> dict[tuple, float | None]:
    """(task, model, method) -> the selected rate of each swept group (None: no rate has a validation accuracy)."""
    out: dict[tuple, float | None] = {}
    for p in sweep_points(rows):
        out.setdefault((p.task, p.model, p.method), None)
        if p.selected:
            out[p.task, p.model, p.method] = p.lr
    return out


def main_rows(rows: list[dict]) -> list[dict]:
    """The rows the main numbers use: everything, except the rows of a swept group at a rate not selected
    (all of a swept group's rows when none of them finished ok, so its failures still show)."""
    chosen = selected_lrs(rows)
    if not chosen:
        return rows
    has_ok = {group_key(r) for r in rows if _is_run(r) and r.get("status") == "ok" and group_key(r) in chosen}
    return [r for r in rows if not _is_run(r) or group_key(r) not in chosen
            or (group_key(r) not in has_ok) or (_lr(r) is not None and _lr(r) == chosen[group_key(r)])]

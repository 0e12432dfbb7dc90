"""Hyper-parameter sweeps: which setting each swept method keeps, and the rows the main numbers use (pure).

A (task, model, method) group is swept when any of its run rows carries `lr_sweep` or `sweep` (bench/execute/suite.py
writes them on every run of a suite with `lr_sweep:` or `sweep:` points). Within a swept group every run row
is one point of the sweep, keyed by its setting: `method_params.lr` and every other parameter whose value
differs between the group's rows (a LoRA rank point: r and alpha). A plain run of the same method with one
point's parameters (kept by --resume: same config hash) counts as that point. The selected setting is the
one with the best mean `val_accuracy` over its ok rows at the seeds every candidate has (so more seeds run at
the chosen setting after the sweep neither change the comparison nor flip the choice; all of each setting's
ok rows when they share no seed); ties (within 1e-9) go to the first setting in table order (smaller values
of the other swept parameters, then the smaller rate): the cautious choice. Settings whose ok rows have no
validation accuracy are not candidates: the test set never picks a setting.

The main numbers (aggregate.group and everything built on it, the terminal summary, the claims) use only
the selected setting's rows; the other settings stay in the store and in the report's sweep table. Groups
without sweep rows are untouched.

Runs on random weights (a shape-only model, `weights: random`) are speed only: they have no accuracy, so they
are neither sweep points nor main rows; their speed has a table of its own (aggregate.speed_records).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from bench.rows.schema import kind_of

TIE = 1e-9  # mean validation accuracies this close are a tie


@dataclass(frozen=True)
class SweepPoint:
    """One setting of one swept (task, model, method): means over its ok rows."""

    task: str
    model: str
    method: str
    lr: float | None  # None: a row without method_params.lr (a run that failed before its parameters resolved)
    others: tuple  # ((name, value), ...): the other swept parameters, by name (empty: a learning-rate sweep)
    n: int  # rows at this setting
    n_ok: int
    val_accuracy: float | None  # mean over ok rows that have one, at the seeds shared by every candidate setting
    val_seeds: tuple  # the seeds val_accuracy is over
    accuracy: float | None  # test accuracy, mean over ok rows (shown, never used to select)
    selected: bool

    @property
    def setting(self) -> str:
        """'r=64, alpha=128' style text of the other swept parameters ('' for a learning-rate sweep)."""
        return ", ".join(f"{k}={_text(v)}" for k, v in self.others)

    @property
    def label(self) -> str:
        """'alpha=128, r=64, lr 0.001': the setting with its rate."""
        return ", ".join(filter(None, [self.setting, "" if self.lr is None else f"lr {self.lr:g}"]))


def _is_run(row: dict) -> bool:
    return kind_of(row) == "run"


def speed_only(row: dict) -> bool:
    """A run on random weights (a shape-only model): its speed and memory count, it has no accuracy."""
    return _is_run(row) and row.get("weights") == "random"


def group_key(row: dict) -> tuple:
    return row.get("task"), row.get("model"), row.get("method")


def _lr(row: dict) -> float | None:
    lr = (row.get("method_params") or {}).get("lr")
    return float(lr) if _is_num(lr) else None


def _is_num(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and not math.isnan(x)


def _mean(values) -> float | None:
    v = [x for x in values if _is_num(x)]
    return sum(v) / len(v) if v else None


def _text(v) -> str:
    return f"{v:g}" if _is_num(v) else json.dumps(v, default=str)


def _frozen(v) -> str:
    return json.dumps(v, sort_keys=True, default=str)


def _order(setting: tuple) -> tuple:
    """Table order of a setting (others, lr): numbers numerically, other values as text; no rate last."""
    others, lr = setting
    return tuple((0, v, "") if _is_num(v) else (1, 0, _frozen(v)) for _, v in others), (lr is None, lr or 0.0)


def swept_groups(rows: list[dict]) -> set[tuple]:
    """(task, model, method) of every group with at least one sweep row."""
    return {group_key(r) for r in rows if _is_run(r) and not speed_only(r) and (r.get("lr_sweep") or r.get("sweep"))}


def swept_names(rows: list[dict]) -> tuple[str, ...]:
    """The parameters, other than lr, whose values differ between these rows (a row without a parameter
    does not make it differ: a run that failed before its parameters resolved)."""
    values: dict[str, set] = {}
    for r in rows:
        for k, v in (r.get("method_params") or {}).items():
            values.setdefault(k, set()).add(_frozen(v))
    return tuple(sorted(k for k, vs in values.items() if len(vs) > 1 and k != "lr"))


def setting_of(row: dict, names: tuple[str, ...]) -> tuple:
    """(others, lr): the row's values of the swept parameters."""
    params = row.get("method_params") or {}
    return tuple((k, params.get(k)) for k in names), _lr(row)


def choose(val_by_setting: dict, order=lambda s: s):
    """The setting with the highest mean validation accuracy; ties -> the first in `order`; None when no
    setting has one (settings are rates in a learning-rate sweep: ties go to the smaller rate)."""
    scored = {s: v for s, v in val_by_setting.items() if s is not None and v is not None}
    if not scored:
        return None
    best = max(scored.values())
    return min((s for s, v in scored.items() if v >= best - TIE), key=order)


def _has_val(row: dict) -> bool:
    return _is_num(row.get("val_accuracy"))


def shared_seeds(ok_by_setting: dict) -> set | None:
    """The seeds at which every candidate setting (one with a validation accuracy) has an ok row; None when
    they share none (then each setting is taken over all its rows)."""
    seeds = [{r.get("seed") for r in rs if _has_val(r)} for s, rs in ok_by_setting.items() if s is not None]
    seeds = [s for s in seeds if s]
    common = set.intersection(*seeds) if seeds else set()
    return common or None


def _by_setting(rows: list[dict]) -> dict[tuple, tuple[tuple[str, ...], dict[tuple, list[dict]]]]:
    """group -> (its swept parameter names, setting -> its rows), for every swept group (settings keyed
    with unhashable values frozen)."""
    swept = swept_groups(rows)
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        if _is_run(r) and not speed_only(r) and group_key(r) in swept:
            groups.setdefault(group_key(r), []).append(r)
    out = {}
    for g, rs in groups.items():
        names = swept_names(rs)
        by_key: dict[tuple, list[dict]] = {}
        for r in rs:
            by_key.setdefault(_key(setting_of(r, names)), []).append(r)
        out[g] = names, by_key
    return out


def _key(setting: tuple) -> tuple:
    others, lr = setting
    return tuple((k, _frozen(v)) for k, v in others), lr


def _points_with_rows(rows: list[dict]) -> list[tuple[SweepPoint, list[dict]]]:
    """Every setting of every swept group with its rows, in order of first appearance then table order,
    the selected one marked."""
    out = []
    for (task, model, method), (names, by_key) in _by_setting(rows).items():
        settings = {k: setting_of(rs[0], names) for k, rs in by_key.items()}
        ok = {k: [r for r in rs if r.get("status") == "ok"] for k, rs in by_key.items()}
        common = shared_seeds({k: v for k, v in ok.items() if settings[k][1] is not None})
        scored = {k: [r for r in ok[k] if _has_val(r) and (common is None or r.get("seed") in common)] for k in by_key}
        val = {k: _mean(r["val_accuracy"] for r in scored[k]) for k in by_key}
        chosen = choose({k: v for k, v in val.items() if settings[k][1] is not None}, lambda k: _order(settings[k]))
        for k in sorted(by_key, key=lambda k: _order(settings[k])):
            others, lr = settings[k]
            seeds = tuple(sorted({r.get("seed") for r in scored[k]}, key=str))
            out.append(
                (
                    SweepPoint(
                        task,
                        model,
                        method,
                        lr,
                        others,
                        len(by_key[k]),
                        len(ok[k]),
                        val[k],
                        seeds,
                        _mean(r.get("accuracy") for r in ok[k]),
                        k == chosen,
                    ),
                    by_key[k],
                )
            )
    return out


def sweep_points(rows: list[dict]) -> list[SweepPoint]:
    """Every setting of every swept group, in order of first appearance then table order, the selected one marked."""
    return [p for p, _ in _points_with_rows(rows)]


def selected_points(rows: list[dict]) -> dict[tuple, SweepPoint | None]:
    """(task, model, method) -> the selected point of each swept group (None: no setting has a validation accuracy)."""
    out: dict[tuple, SweepPoint | None] = {}
    for p in sweep_points(rows):
        out.setdefault((p.task, p.model, p.method), None)
        if p.selected:
            out[p.task, p.model, p.method] = p
    return out


def selected_lrs(rows: list[dict]) -> dict[tuple, float | None]:
    """(task, model, method) -> the learning rate of each swept group's selected point (None: none selected)."""
    return {g: p.lr if p else None for g, p in selected_points(rows).items()}


def main_rows(rows: list[dict]) -> list[dict]:
    """The rows the main numbers use: everything, except runs on random weights (speed only) and the rows of a
    swept group at a setting not selected (all of a swept group's rows when none of them finished ok, so its
    failures still show)."""
    if any(speed_only(r) for r in rows):
        rows = [r for r in rows if not speed_only(r)]
    points = _points_with_rows(rows)
    if not points:
        return rows
    has_ok = {group_key(r) for _, rs in points for r in rs if r.get("status") == "ok"}
    keep = {id(r) for p, rs in points if p.selected or (p.task, p.model, p.method) not in has_ok for r in rs}
    swept = {(p.task, p.model, p.method) for p, _ in points}
    return [r for r in rows if not _is_run(r) or group_key(r) not in swept or id(r) in keep]

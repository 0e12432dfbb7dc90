"""What sets runs of one method apart: their budget and method parameters, as short labels (pure).

Rows of one task and method that ran under different settings (1 epoch in fp32, 2 epochs in bf16) are
different experiments: a figure draws them as separate series and a table flags them. `setting_labels`
names, for each row, only the settings that differ among the rows of its task and method.
"""

from __future__ import annotations

import json

from bench.execute.identity import budget_identity, params_identity


def settings(row: dict) -> dict[str, str]:
    """The row's model, budget and method parameters as identifying text: {"model": "minilm", "epochs": "2", ...}
    (runs of two models are never one series)."""
    out = {"model": str(row["model"])} if row.get("model") is not None else {}
    for k, v in (budget_identity(row.get("budget")) or {}).items():
        out[k] = json.dumps(v, sort_keys=True, default=str) if isinstance(v, (dict, list)) else str(v)
    for k, v in params_identity(row.get("method_params") or {}).items():
        out[k] = json.dumps(v, sort_keys=True, default=str) if isinstance(v, (dict, list)) else str(v)
    return out


def differing(rows: list[dict]) -> list[str]:
    """The settings whose values are not the same across `rows` (a missing key counts as a value)."""
    all_settings = [settings(r) for r in rows]
    keys = dict.fromkeys(k for s in all_settings for k in s)
    return [k for k in keys if len({s.get(k) for s in all_settings}) > 1]


def label(row: dict, keys: list[str]) -> str:
    """'lora' or 'lora (epochs=2, precision=bf16)': the method and its settings among `keys`."""
    s = settings(row)
    text = ", ".join(f"{k}={s.get(k, '-')}" for k in keys)
    return f"{row.get('method')} ({text})" if text else str(row.get("method"))


def setting_labels(rows: list[dict], group=("task", "model", "method")) -> list[str]:
    """One label per row: its method, plus the settings that differ among the rows of its group."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(r.get(g) for g in group), []).append(r)
    keys = {g: differing(rs) for g, rs in groups.items()}
    return [label(r, keys[tuple(r.get(g) for g in group)]) for r in rows]

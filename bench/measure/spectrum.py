"""The note's claim 2, measured: is the fine-tuning update dW = W_ft - W0 low-rank? (pure functions)

For each matrix that LoRA targets, the singular values of dW, the share of its energy (sum of
squared singular values) in the top r, and an effective rank (Roy & Vetterli 2007: the exponential
of the entropy of the normalised singular values).
"""

from __future__ import annotations

import math

import torch

RANKS = (1, 2, 4, 8, 16, 64)
KEEP = 64  # singular values kept per matrix in the row (normalised by the largest)


def singular_values(dw: torch.Tensor) -> torch.Tensor:
    return torch.linalg.svdvals(dw.detach().double().cpu())


def energy_top(s: torch.Tensor, r: int) -> float:
    e = s.square()
    total = float(e.sum())
    return float(e[:r].sum()) / total if total > 0 else float("nan")


def effective_rank(s: torch.Tensor) -> float:
    total = float(s.sum())
    if total <= 0:
        return 0.0
    p = s / total
    p = p[p > 0]
    return math.exp(float(-(p * p.log()).sum()))


def update_spectrum(before: dict[str, torch.Tensor], after: dict[str, torch.Tensor], ranks=RANKS) -> dict:
    """Summary of dW over the named matrices: mean energy in the top r, effective rank, relative size,
    and the leading singular values of each matrix (normalised by its largest)."""
    per = {}
    for name, w0 in before.items():
        dw = after[name].detach().double().cpu() - w0.double().cpu()
        s = singular_values(dw)
        per[name] = {
            "energy_top": {str(r): energy_top(s, r) for r in ranks},
            "effective_rank": effective_rank(s),
            "rel_norm": float(dw.norm() / w0.double().norm()) if float(w0.norm()) > 0 else float("nan"),
            "shape": list(dw.shape),
            "singular_values": [float(x) for x in (s[:KEEP] / s[0]).tolist()] if float(s[0]) > 0 else [],
        }
    if not per:
        return {}
    n = len(per)
    return {
        "matrices": n,
        "energy_top_mean": {str(r): sum(p["energy_top"][str(r)] for p in per.values()) / n for r in ranks},
        "effective_rank_mean": sum(p["effective_rank"] for p in per.values()) / n,
        "rel_norm_mean": sum(p["rel_norm"] for p in per.values()) / n,
        "full_rank": min(min(p["shape"]) for p in per.values()),
        "per_matrix": per,
    }


def target_weights(model, target_names: tuple[str, ...]) -> dict[str, torch.Tensor]:
    """Copies of the weight matrices of the linear layers whose names end in one of `target_names`
    (LoRA's targets: query/value, q_proj/v_proj)."""
    out = {}
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and name.split(".")[-1] in target_names:
            out[name] = module.weight.detach().clone().cpu()
    return out

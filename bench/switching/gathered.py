"""Mixed-batch LoRA in the style of S-LoRA and Punica: the A and B matrices of all adapters are
stacked once; each row of a batch gathers its own pair, and the LoRA path of every layer is two
batched matmuls (torch.bmm), whatever the number of distinct adapters in the batch.

y = x W0^T + s * (x A_i^T) B_i^T   for row i with adapter index idx[i]
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn


class _Selection:
    """The adapter index of each row of the current batch, shared by every wrapped layer."""

    index: torch.Tensor | None = None


class GatheredLoRALinear(nn.Module):
    def __init__(self, base: nn.Linear, a: torch.Tensor, b: torch.Tensor, scale: float, selection: _Selection):
        super().__init__()
        self.base = base
        # stored pre-transposed so that gathered slices feed bmm contiguously
        self.register_buffer("a_t", a.transpose(1, 2).contiguous())  # [N, d_in, r]
        self.register_buffer("b_t", b.transpose(1, 2).contiguous())  # [N, r, d_out]
        self.scale = scale
        self.selection = selection

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.base(x)
        idx = self.selection.index
        if idx is None:
            return y
        squeeze = x.dim() == 2
        h = x.unsqueeze(1) if squeeze else x  # [batch, tokens, d_in]
        low = torch.bmm(h, self.a_t.index_select(0, idx))  # [batch, tokens, r]
        delta = torch.bmm(low, self.b_t.index_select(0, idx))  # [batch, tokens, d_out]
        return y + (delta.squeeze(1) if squeeze else delta) * self.scale


def install(model: nn.Module, weights: dict[str, tuple[torch.Tensor, torch.Tensor, float]]) -> _Selection:
    """Replace each named nn.Linear of `model` by a gathered LoRA layer.
    weights: module name -> (A [N, r, d_in], B [N, d_out, r], scale)."""
    selection = _Selection()
    for name, (a, b, scale) in weights.items():
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        base = getattr(parent, child)
        setattr(parent, child, GatheredLoRALinear(base, a.to(base.weight), b.to(base.weight), scale, selection))
    return selection


@contextmanager
def use_adapters(selection: _Selection, index: torch.Tensor):
    selection.index = index
    try:
        yield
    finally:
        selection.index = None


def resident_bytes(model: nn.Module) -> int:
    return sum(
        m.a_t.numel() * m.a_t.element_size() + m.b_t.numel() * m.b_t.element_size()
        for m in model.modules()
        if isinstance(m, GatheredLoRALinear)
    )

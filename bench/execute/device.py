"""Which device a run uses: `auto` (cuda when available), `cpu` or `cuda`, checked before any run."""

from __future__ import annotations

from bench.errors import BenchError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(requested: str) -> str:
    import torch

    if requested not in DEVICES:
        raise BenchError(f"unknown device {requested!r}; valid devices: auto, cpu, cuda")
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise BenchError("--device cuda: CUDA is not available on this machine; valid devices here: auto, cpu")
    return requested

"""Which device a run uses: `auto` (cuda when available), `cpu` or `cuda`, checked before any run; and the
seeding of a run's random number generators."""

from __future__ import annotations

import os
import random

from bench.errors import BenchError
from bench.options import DEVICES, check_device  # noqa: F401 - DEVICES: the choices, declared once


def resolve_device(requested: str) -> str:
    import torch

    check_device(requested)
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise BenchError("--device cuda: CUDA is not available on this machine; valid devices here: auto, cpu")
    return requested


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Python's, numpy's and torch's generators; with `deterministic`, torch's deterministic algorithms too."""
    import numpy as np
    import torch

    if deterministic:  # before the first cuBLAS call of this process (a run's own child process)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)

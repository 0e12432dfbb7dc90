"""Which device a run uses: `auto` (cuda when available), `cpu` or `cuda`, checked before any run (for a CPU-only
torch build without importing torch, so bad input answers at once); and the seeding of a run's random number
generators."""

from __future__ import annotations

import os
import random
import sys

from bench.errors import BenchError
from bench.measure.environment import torch_build
from bench.options import check_device


def resolve_device(requested: str) -> str:
    check_device(requested)
    if requested == "cpu":
        return requested
    available = cuda_available()
    if requested == "cuda" and not available:
        raise BenchError("--device cuda: CUDA is not available on this machine; valid devices here: auto, cpu")
    return "cuda" if available else "cpu"


def cuda_available() -> bool:
    """torch.cuda.is_available(); read from the installed build when torch is not imported yet and the build is
    CPU-only (no CUDA, no ROCm), which no machine can change (importing torch takes seconds on a busy machine)."""
    if "torch" not in sys.modules:
        build = torch_build()
        if build is not None and not build["cuda"] and not build["hip"]:
            return False
    import torch

    return torch.cuda.is_available()


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

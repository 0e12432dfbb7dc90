"""The environment every row records: versions, device, threads, git state, machine id."""

from __future__ import annotations

import hashlib
import platform
import socket
import subprocess
from functools import lru_cache
from pathlib import Path

from bench.paths import git_root, source_checkout


def _git(repo: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


@lru_cache(maxsize=1)
def git_state() -> dict:
    """The git state rows record: of the checkout the code runs from; for an installed package, of the work
    tree the bench runs in (the current directory's), if any; else unknown."""
    repo = source_checkout() or git_root(Path.cwd())
    if repo is None:
        return {"git_sha": "unknown", "git_dirty": None}
    sha = _git(repo, "rev-parse", "HEAD")
    # Rows appended to a tracked file under results/ are not a change of the code that made them.
    dirty = _git(repo, "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results")
    return {"git_sha": sha or "unknown", "git_dirty": bool(dirty) if dirty is not None else None}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@lru_cache(maxsize=1)
def machine_id() -> str:
    """Stable per machine: hashed /etc/machine-id (or hostname) and CPU model."""
    try:
        base = Path("/etc/machine-id").read_text().strip()
    except OSError:
        base = socket.gethostname()
    return hashlib.sha256(f"{base}|{cpu_model()}".encode()).hexdigest()[:12]


def machine_class(device_kind: str = "cpu") -> str:
    """What baselines are kept per: the processor (or GPU) model and core count, not one host,
    so a fresh CI machine of the same kind finds the committed baseline."""
    import os
    import re

    if device_kind == "cuda":
        import torch

        name, count = torch.cuda.get_device_name(0), f"{torch.cuda.device_count()}gpu"
    else:
        name, count = cpu_model(), f"{os.cpu_count()}c"
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return f"{device_kind}-{slug}-{count}"


def device_name(device) -> str:
    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return cpu_model()


def environment(device) -> dict:
    import peft
    import torch
    import transformers

    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device_kind": device.type,
        "device_name": device_name(device),
        "num_threads": torch.get_num_threads(),
        "cuda": torch.version.cuda,
    }

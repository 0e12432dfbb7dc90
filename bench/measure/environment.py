"""The environment every row records: versions, device, threads, git state, machine id."""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import os
import platform
import re
import socket
import subprocess
from functools import lru_cache
from importlib import metadata
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


def package_version(name: str) -> str | None:
    """An installed package's version from its metadata (the package itself is not imported)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def torch_build() -> dict | None:
    """torch.version's `cuda` and `hip` as the installed torch's version.py writes them, read without importing
    torch; None when they cannot be read."""
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.origin:
        return None
    try:
        text = (Path(spec.origin).parent / "version.py").read_text(encoding="utf-8")
    except OSError:
        return None
    build = {}
    for key in ("cuda", "hip"):
        found = re.search(rf"^{key}\s*(?::[^=\n]*)?=\s*(.+)$", text, re.M)
        try:
            build[key] = ast.literal_eval(found.group(1).strip()) if found else None
        except (ValueError, SyntaxError):
            return None
        if not found:
            return None
    return build


def default_threads() -> int:
    """The intra-op threads torch starts with, by its own rule: MKL_NUM_THREADS, else OMP_NUM_THREADS, else the
    physical cores."""
    for var in ("MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    import psutil

    return psutil.cpu_count(logical=False) or os.cpu_count() or 1


def environment_without_torch() -> dict | None:
    """environment()'s fields for the device `auto` picks, without importing torch, transformers or peft (seconds
    on a busy machine): for a CPU-only torch build, whose device can only be the CPU. None for a CUDA or ROCm
    build, or a torch whose build cannot be read: only torch can say whether a GPU is there."""
    build = torch_build()
    if build is None or build["cuda"] or build["hip"]:
        return None
    return {
        "torch": package_version("torch"),
        "transformers": package_version("transformers"),
        "peft": package_version("peft"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device_kind": "cpu",
        "device_name": cpu_model(),
        "num_threads": default_threads(),
        "cuda": None,
    }

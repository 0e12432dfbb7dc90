"""Where things are: the shipped tasks and suites, the checkout the code runs from, and where results/ lives.

The repository keeps the shipped tasks in tasks/ (suites in tasks/suites/) at its top level; a wheel carries
them inside the package as bench/builtin_tasks/ (setup.py maps the one onto the other at build time). So the
same lookup serves a source checkout, an editable install and an installed wheel.
"""

from __future__ import annotations

import subprocess
from importlib import resources
from pathlib import Path

from bench.errors import BenchError


def source_checkout() -> Path | None:
    """The repository this package runs from (a source checkout, or an editable install of one), else None."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() and (root / "tasks").is_dir() else None


def builtin_tasks_dir() -> Path:
    """The shipped task YAMLs: inside an installed package, else the checkout's tasks/ folder."""
    shipped = resources.files("bench") / "builtin_tasks"
    if shipped.is_dir():
        return Path(str(shipped))
    checkout = source_checkout()
    if checkout is None:
        raise BenchError("the shipped tasks are missing: this install of adapter-bench has no bench/builtin_tasks")
    return checkout / "tasks"


def builtin_suites_dir() -> Path:
    """The shipped suite YAMLs (tasks/suites/ in the repository)."""
    return builtin_tasks_dir() / "suites"


def git_root(folder: Path) -> Path | None:
    """The top of the git work tree holding `folder`, or None (no git, or not in a work tree)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], cwd=folder, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    top = out.stdout.strip()
    return Path(top) if out.returncode == 0 and top else None


def workspace_root() -> Path:
    """Where results/ lives: the checkout the package runs from; for an installed package, the git work tree
    of the current directory, else the current directory."""
    return source_checkout() or git_root(Path.cwd()) or Path.cwd()


def confined(folder: Path, name: str, what: str) -> Path:
    """folder/name, where `name` (taken from a file or an option) is one file name that stays in `folder`."""
    path = Path(folder) / name
    if any(c in name for c in "/\\\0") or name.startswith(".") or path.resolve().parent != Path(folder).resolve():
        raise BenchError(f"{what}: it names a file in {folder}/, so give it without '/', '\\' or a leading '.'")
    return path

"""The local Hugging Face hub cache, read without `huggingface_hub`: where a model or dataset lies and
which commit (revision) of it is there.

The cache holds a repository as `<root>/<models|datasets>--<org>--<name>/`, with `refs/<branch>` naming
the commit a branch pointed at when it was last fetched and one `snapshots/<commit>/` folder per commit
fetched. Pure given the folder: no network, no `datasets` or `huggingface_hub` import.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_COMMIT = re.compile(r"^[0-9a-f]{40}$")
REPO_TYPES = ("model", "dataset")


def cache_root() -> Path:
    """HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub (huggingface_hub's own rule)."""
    root = os.environ.get("HF_HUB_CACHE") or os.path.join(
        os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface"), "hub"
    )
    return Path(root)


def repo_folder(repo_id: str, repo_type: str = "model", root: Path | None = None) -> Path:
    if repo_type not in REPO_TYPES:
        raise ValueError(f"unknown repo type {repo_type!r}; valid: {', '.join(REPO_TYPES)}")
    return (root or cache_root()) / (f"{repo_type}s--" + repo_id.replace("/", "--"))


def cached_revision(repo_id: str, repo_type: str = "model", ref: str = "main", root: Path | None = None) -> str | None:
    """The commit of `repo_id` in the cache: the one `refs/<ref>` names (or `ref` itself, a commit), when its
    snapshot is there; else the only snapshot; None when the cache cannot tell."""
    folder = repo_folder(repo_id, repo_type, root)
    snapshots = folder / "snapshots"
    if _COMMIT.match(ref):
        return ref if (snapshots / ref).is_dir() else None
    try:
        named = (folder / "refs" / ref).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        named = ""
    if _COMMIT.match(named) and (snapshots / named).is_dir():
        return named
    found = [p.name for p in snapshots.iterdir() if p.is_dir() and _COMMIT.match(p.name)] if snapshots.is_dir() else []
    return found[0] if len(found) == 1 else None


def commit_of(config) -> str | None:
    """The commit `from_pretrained` loaded a model from (transformers records it on the config), or None."""
    sha = getattr(config, "_commit_hash", None)
    return sha if isinstance(sha, str) and _COMMIT.match(sha) else None

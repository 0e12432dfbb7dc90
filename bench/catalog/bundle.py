"""An offline cache folder for an air-gapped machine: `python -m bench assets bundle DIR`.

DIR holds what a suite needs beside the repository, laid out as the asset cache is (see assets.py):
each built-in model as a ready folder (models/<name>/: config, tokenizer, weights as one safetensors
file, fp16 by default to halve it; runs load it back in fp32), and the verified archives its tasks
read (archives/). On the other machine: ADAPTER_BENCH_CACHE=DIR. Shape-only models need no files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from bench.catalog import assets, models, shapes, tasks
from bench.config import load_suite
from bench.errors import BenchError, choices

DTYPES = ("fp16", "bf16", "fp32")
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".h5", ".msgpack", ".onnx", ".ot", ".gguf")


def needs(suite: str) -> tuple[list[str], list[str]]:
    """(built-in model names, asset packages of its tasks) that a suite reads."""
    cfg = load_suite(suite)
    spec = models.resolve(cfg.model.name)
    model_names = [spec.name] if spec.name in models.MODELS else []
    packages = sorted({tasks.load_task(t).source.get("asset") for t in cfg.tasks} - {None, ""})
    return model_names, packages


def bundle(dest: Path, model_names: list[str], packages: list[str], dtype: str = "fp16") -> dict:
    """Write the bundle; returns its manifest (also written as DIR/bundle.json)."""
    if dtype not in DTYPES:
        raise BenchError(f"unknown dtype {dtype!r}; valid dtypes: {choices(DTYPES)}")
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise BenchError(f"bundle folder {dest} is a file; give a folder")
    files: dict[str, int] = {}
    for name in model_names:
        folder = dest / "models" / name
        _model_folder(Path(models.local_path(models.resolve(name))), folder, dtype)
        files.update({str(p.relative_to(dest)): p.stat().st_size for p in folder.rglob("*") if p.is_file()})
    for package in packages:
        archive = assets.fetch(assets.get_asset(package))
        target = dest / "archives" / archive.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(archive, target)
        files[str(target.relative_to(dest))] = target.stat().st_size
    manifest = {
        "models": model_names,
        "archives": packages,
        "dtype": dtype,
        "bytes": sum(files.values()),
        "files": files,
        "use": "ADAPTER_BENCH_CACHE=<this folder>",
    }
    (dest / "bundle.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _model_folder(source: Path, folder: Path, dtype: str) -> None:
    """Config and tokenizer files copied; the weights rewritten as one safetensors file in `dtype`."""
    import torch
    from safetensors.torch import load_file, save_file

    weights = [p for p in source.iterdir() if p.suffix in (".safetensors", ".bin")]
    if not weights:
        raise BenchError(f"model folder {source} has no weights (model.safetensors or pytorch_model.bin)")
    state: dict = {}
    for p in sorted(weights):
        part = load_file(str(p)) if p.suffix == ".safetensors" else torch.load(p, map_location="cpu", weights_only=True)
        state.update(part)
    target = shapes.torch_dtype(dtype)
    state = {k: (v.to(target) if v.is_floating_point() else v).contiguous() for k, v in state.items()}
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for p in source.iterdir():
        if p.is_file() and not p.name.endswith(WEIGHT_SUFFIXES) and not p.name.endswith(".index.json"):
            shutil.copyfile(p, tmp / p.name)
    save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)

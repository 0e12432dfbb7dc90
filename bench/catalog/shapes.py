"""Shape-only models: a named architecture's config (bench/catalog/shapes/<name>.json), built with
random weights, so speed can be measured at real model shapes without downloading any weights.

    --model shape:llama-3.2-1b  (and model.layers=N to keep N layers, model.dtype=bf16 for bf16 weights)

Rows of these models say `weights: random`; they measure time and memory, never accuracy. More shapes
(an architecture of one's own) can sit in a folder named by ADAPTER_BENCH_SHAPES, one <name>.json each
({"description": ..., "config": {...}}), found before the built-in ones.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path

from bench.errors import BenchError, choices

SHAPES_DIR = Path(__file__).resolve().parent / "shapes"
PREFIX = "shape:"
DTYPES = ("fp32", "bf16", "fp16")


ENV = "ADAPTER_BENCH_SHAPES"  # a folder of more shapes, searched first


def _dirs() -> list[Path]:
    extra = os.environ.get(ENV)
    return ([Path(extra)] if extra else []) + [SHAPES_DIR]


def is_shape(model: str) -> bool:
    """The model name is a shape-only model's (shape:<name>)."""
    return str(model).startswith(PREFIX)


def names() -> list[str]:
    return sorted({p.stem for d in _dirs() for p in d.glob("*.json")})


def _read(name: str) -> dict:
    for folder in _dirs():
        if (folder / f"{name}.json").is_file():
            return _load(str(folder / f"{name}.json"))
    raise BenchError(f"unknown shape {name!r}; valid shapes: {choices(names())} (as --model shape:<name>)")


@cache
def _load(path: str) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data.get("config"), dict) or "num_hidden_layers" not in data["config"]:
            raise ValueError("no config with num_hidden_layers")
    except (OSError, ValueError, AttributeError) as e:
        raise BenchError(f"shape file {path}: not a shape ({{'description': ..., 'config': {{...}}}}): {e}") from None
    return {"description": "", **data}


def description(name: str) -> str:
    return _read(name)["description"]


def config_dict(name: str, layers: int = 0) -> dict:
    """The architecture's transformers config as a dict, truncated to its first `layers` layers (0: all)."""
    cfg = dict(_read(name)["config"])
    if layers < 0:
        raise BenchError(f"model.layers must be 0 (all) or a positive number of layers, got {layers}")
    if layers:
        if layers > cfg["num_hidden_layers"]:
            raise BenchError(f"model.layers={layers}: shape {name!r} has only {cfg['num_hidden_layers']} layers")
        cfg["num_hidden_layers"] = layers
    return cfg


def config(name: str, layers: int = 0, **overrides):
    """A transformers PretrainedConfig; `overrides` replace fields (tests shrink hidden sizes with them)."""
    from transformers import AutoConfig

    cfg = {**config_dict(name, layers), **overrides}
    model_type = cfg.pop("model_type")
    return AutoConfig.for_model(model_type, **cfg)


def torch_dtype(dtype: str):
    import torch

    if dtype not in DTYPES:
        raise BenchError(f"unknown dtype {dtype!r}; valid dtypes: {choices(DTYPES)}")
    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[dtype]


def build(
    name: str, layers: int = 0, dtype: str = "fp32", causal_lm: bool = False, seed: int = 0, device="cpu", **overrides
):
    """A randomly initialised model of the named shape: the backbone (hidden states out), or with
    its LM head. Weights are drawn with the architecture's own initialiser, seeded, on `device`
    (an 8B shape initialises in seconds on a GPU, minutes on a CPU)."""
    import torch
    from transformers import AutoModel, AutoModelForCausalLM

    cfg = config(name, layers, **overrides)
    torch.manual_seed(seed)
    factory = AutoModelForCausalLM if causal_lm else AutoModel
    with torch.device(device):
        model = factory.from_config(cfg, dtype=torch_dtype(dtype))
    return model.eval()


def parameter_count(name: str, layers: int = 0) -> int:
    """Parameters of the backbone, from the config alone (no model built): embeddings, attention,
    MLP and norms of a Llama/Qwen2-style decoder."""
    c = config_dict(name, layers)
    h, inter, n_layers = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
    head_dim = c.get("head_dim") or h // c["num_attention_heads"]
    q, kv = c["num_attention_heads"] * head_dim, c["num_key_value_heads"] * head_dim
    bias = (q + 2 * kv) if c.get("model_type") == "qwen2" or c.get("attention_bias") else 0
    attn = h * q + 2 * h * kv + q * h + bias
    per_layer = attn + 3 * h * inter + 2 * h
    return c["vocab_size"] * h + n_layers * per_layer + h

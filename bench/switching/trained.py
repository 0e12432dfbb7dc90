"""Trained adapters from earlier runs, for the switching sweep: LoRA A/B and soft prompts read from
the PEFT folders that `run` keeps beside its rows (`adapter_path`), keyed by backbone module name."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch

from bench.analysis.selection import main_rows
from bench.errors import BenchError
from bench.rows.schema import kind_of
from bench.rows.store import read_rows
from bench.switching.fleet import ALPHA_PER_RANK


@dataclass
class Trained:
    lora: list[dict[str, tuple[torch.Tensor, torch.Tensor]]] = field(default_factory=list)  # module -> (A, B)
    prompts: list[torch.Tensor] = field(default_factory=list)  # [virtual, hidden]
    sources: list[str] = field(default_factory=list)


def _module(key: str, prefixes: tuple[str, ...]) -> str:
    """'base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight' -> 'encoder.layer.0.attention.self.query'."""
    name = key.split(".lora_")[0]
    for p in ("base_model.model.", *prefixes):
        if name.startswith(p):
            name = name[len(p) :]
    return name


def lora_scale(params: dict) -> float:
    """The factor PEFT multiplies a LoRA update B A by: alpha / r, or alpha / sqrt(r) with rsLoRA."""
    r, alpha = params["r"], params.get("alpha", params["r"])
    return alpha / (math.sqrt(r) if params.get("use_rslora") else r)


def load(rows: list[dict], model: str, rank: int, virtual_tokens: int, base_prefix: str) -> Trained:
    """Every ok run of `model` whose kept adapter matches the sweep's rank or number of virtual tokens,
    among the rows the main numbers use: of a swept method, only the selected setting's runs (a rejected
    learning rate's adapter, diverged or not, is not one a user would serve)."""
    from safetensors.torch import load_file

    out = Trained()
    prefixes = (f"{base_prefix}.",) if base_prefix else ()
    for r in main_rows(rows):
        if kind_of(r) != "run" or r.get("status") != "ok" or r.get("model") != model:
            continue
        path = r.get("adapter_path")
        if not path or not (Path(path) / "adapter_model.safetensors").is_file():
            continue
        weights = load_file(str(Path(path) / "adapter_model.safetensors"))
        params = r.get("method_params", {})
        base = r.get("base_method") or r.get("method")
        if base == "lora" and params.get("r") == rank and not params.get("use_dora"):
            pairs: dict[str, dict[str, torch.Tensor]] = {}
            for k, v in weights.items():
                if ".lora_A." in k or ".lora_B." in k:
                    pairs.setdefault(_module(k, prefixes), {})["A" if ".lora_A." in k else "B"] = v
            scale = lora_scale(params) / ALPHA_PER_RANK  # served at the fleet's scaling: the same update B A
            out.lora.append({m: (p["A"], p["B"] * scale) for m, p in pairs.items() if "A" in p and "B" in p})
            out.sources.append(f"lora {r['task']} ({r['run_id']})")
        elif base == "prompt_tuning" and "prompt_embeddings" in weights:
            if weights["prompt_embeddings"].shape[0] == virtual_tokens:
                out.prompts.append(weights["prompt_embeddings"])
                out.sources.append(f"prompt_tuning {r['task']} ({r['run_id']})")
    return out


def from_results(path: Path, model: str, rank: int, virtual_tokens: int, base_prefix: str) -> Trained:

    if not Path(path).is_file():
        raise BenchError(f"--adapters-from {path}: no such results file")
    return load(read_rows(Path(path)), model, rank, virtual_tokens, base_prefix)

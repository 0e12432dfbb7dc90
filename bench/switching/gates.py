"""Correctness gates. A strategy whose gate fails is recorded as `failed`, whatever its speed.

- mixed == alone: each row of a mixed batch equals the same input run alone with its adapter
  (reference: PEFT's own single-adapter forward), relative max error within MIXED_RTOL;
- swap == reference: after a swap to task t, a one-at-a-time server gives adapter t's output;
- adapters change outputs: every adapter's output differs from the base model's;
- merge drift: W after k merge/unmerge cycles vs W0, in fp32 and bf16 (k = 1, 100, 1000).
"""

from __future__ import annotations

import copy

import torch

from bench.options import PROMPT_STRATEGIES
from bench.switching.fleet import Fleet, adapter_name
from bench.switching.strategies import Server

# fp32: a row computed inside a batch and alone goes through different kernel blockings; 1e-5 of
# the output's scale is the bound; measured errors are ~1e-7 on CPU.
MIXED_RTOL = 1e-5
CHANGE_MIN = 1e-3  # an adapter must move the output by at least this share of its scale
DRIFT_FP32_MAX = 1e-5  # relative to max |W0|, after 1,000 cycles


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float() - b.float()).abs().max() / b.float().abs().max().clamp_min(1e-12))


def _hidden(out) -> torch.Tensor:
    return out.last_hidden_state if hasattr(out, "last_hidden_state") else out[0]


@torch.inference_mode()
def reference(fleet: Fleet, ids: torch.Tensor, task: int, prompt: bool) -> torch.Tensor:
    """One input alone through PEFT with task's adapter (or soft prompt) active."""
    mask = torch.ones_like(ids)
    if prompt:
        fleet.prompt.prompt_encoder["default"].embedding.weight.copy_(fleet.prompt_table[task])
        return _hidden(fleet.prompt(input_ids=ids, attention_mask=mask))
    fleet.multi.set_adapter(adapter_name(task))
    return _hidden(fleet.multi(input_ids=ids, attention_mask=mask))


@torch.inference_mode()
def check_server(fleet: Fleet, strategy: str, server: Server, probe: torch.Tensor) -> dict:
    """Gate results for one strategy on a probe batch (one row per task, up to 8 tasks)."""
    if strategy == "base":
        return {"gate_ok": True}
    n_rows = min(fleet.n, 8)
    ids = probe[:n_rows]
    tasks = torch.arange(n_rows, device=ids.device)
    is_prompt = strategy in PROMPT_STRATEGIES
    refs = [reference(fleet, ids[i : i + 1], i, is_prompt) for i in range(n_rows)]
    result: dict = {}
    server.prepare()
    try:
        if server.mixed:
            got = _hidden(server.forward(ids, tasks))
            errs = [rel_err(got[i : i + 1], refs[i]) for i in range(n_rows)]
            result["mixed_vs_alone_max_rel_err"] = max(errs)
            ok = max(errs) <= MIXED_RTOL
        else:
            errs = []
            for i in range(n_rows):
                server.swap(i)
                errs.append(rel_err(_hidden(server.forward(ids[i : i + 1], tasks[i : i + 1])), refs[i]))
            result["swap_vs_reference_max_rel_err"] = max(errs)
            ok = max(errs) <= MIXED_RTOL
    finally:
        server.finish()
    result["gate_ok"] = bool(ok)
    return result


@torch.inference_mode()
def adapters_change_output(fleet: Fleet, probe: torch.Tensor) -> dict:
    ids = probe[:1]
    mask = torch.ones_like(ids)
    base = _hidden(fleet.plain(input_ids=ids, attention_mask=mask))
    lora = min(rel_err(reference(fleet, ids, t, prompt=False), base) for t in range(fleet.n))
    vt = fleet.virtual_tokens
    prompt = min(rel_err(reference(fleet, ids, t, prompt=True)[:, vt:], base) for t in range(fleet.n))
    return {
        "lora_min_change": lora,
        "prompt_min_change": prompt,
        "lora_changes_output": lora >= CHANGE_MIN,
        "prompt_changes_output": prompt >= CHANGE_MIN,
    }


@torch.inference_mode()
def merge_drift(fleet: Fleet, cycles: tuple[int, ...] = (1, 100, 1000)) -> dict:
    """Merge then unmerge adapter 0 into one target layer, k times; max |W - W0| / max |W0|."""
    from peft.tuners.lora import LoraLayer

    layer = next(m for m in fleet.multi.modules() if isinstance(m, LoraLayer))
    out = {}
    for dtype, tag in ((torch.float32, "fp32"), (torch.bfloat16, "bf16")):
        lay = copy.deepcopy(layer).to(dtype)
        lay.set_adapter(adapter_name(0))
        w0 = lay.get_base_layer().weight.detach().clone()
        done = 0
        for k in cycles:
            for _ in range(k - done):
                lay.merge(adapter_names=[adapter_name(0)])
                lay.unmerge()
            done = k
            out[f"drift_{tag}_{k}"] = rel_err(lay.get_base_layer().weight, w0)
    out["drift_ok"] = out[f"drift_fp32_{cycles[-1]}"] <= DRIFT_FP32_MAX
    return out

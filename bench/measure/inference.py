"""What a trained model costs: trainable parameters (and what its adapter adds), bytes on disk, inference latency
and throughput."""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from bench.config import Measure
from bench.measure.data import collate, to_device
from bench.measure.timing import Timer, summarize, sync
from bench.measure.train import class_logits


def trainable_counts(model) -> dict:
    """Equal to peft's get_nb_trainable_parameters() for PEFT models; plain counts otherwise."""
    if hasattr(model, "get_nb_trainable_parameters"):
        trainable, total = model.get_nb_trainable_parameters()
    else:
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        total = sum(p.numel() for p in model.parameters())
    return {
        "trainable_params": int(trainable),
        "total_params": int(total),
        "trainable_pct": 100.0 * trainable / total if total else 0.0,
    }


def virtual_tokens(model) -> int:
    """Tokens a prompt-learning adapter prepends to every sequence (0 for everything else)."""
    cfg = getattr(model, "peft_config", {}).get("default")
    if cfg is None or not getattr(cfg, "is_prompt_learning", False):
        return 0
    return int(cfg.num_virtual_tokens)


def adapter_targets(model) -> dict:
    """{"adapter_targets": the modules a PEFT adapter wraps, sorted}, or {} for a model without one."""
    targets = getattr(getattr(model, "peft_config", {}).get("default"), "target_modules", None)
    return {"adapter_targets": sorted(targets)} if targets else {}


def saved_bytes(model, folder: Path, peft: bool) -> int:
    """Size on disk of what a user must keep per task: the PEFT adapter (save_pretrained), or the
    trainable tensors of a baseline as safetensors (the whole model for full fine-tuning)."""
    folder.mkdir(parents=True, exist_ok=True)
    if peft:
        model.save_pretrained(str(folder))
    else:
        from safetensors.torch import save_file

        tensors = {n: p.detach().contiguous().cpu() for n, p in model.named_parameters() if p.requires_grad}
        if not tensors:
            return 0
        save_file(tensors, str(folder / "model.safetensors"))
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


@torch.inference_mode()
def adapter_size(model, peft: bool, adapters_dir: str, run_id: str) -> dict:
    """adapter_bytes: what a user keeps per task, saved; with `adapters_dir` the PEFT adapter is kept there
    (adapter_path: the switching sweep serves trained adapters), else measured and discarded."""
    if peft and adapters_dir:
        folder = Path(adapters_dir) / run_id
        return {"adapter_bytes": saved_bytes(model, folder, peft=True), "adapter_path": str(folder)}
    with tempfile.TemporaryDirectory() as tmp:
        return {"adapter_bytes": saved_bytes(model, Path(tmp), peft=peft)}


def inference_metrics(
    model,
    ids: list[list[int]],
    labels: list[int],
    pad_id: int,
    left: bool,
    *,
    kind: str,
    label_token_ids,
    device: torch.device,
    measure: Measure,
    virtual_tokens: int,
) -> dict:
    """Batch-1 latency over distinct requests, and throughput of one larger batch, repeated."""
    model.eval()
    if not ids:
        return {}
    out: dict = {}
    n1 = measure.latency_warmup + measure.latency_requests
    requests = [collate([ids[i % len(ids)]], [labels[i % len(ids)]], pad_id, left) for i in range(n1)]
    timer = Timer(device)
    tokens = 0
    for i, req in enumerate(requests):
        req = to_device(req, device)
        sync(device)
        if i < measure.latency_warmup:
            class_logits(model, req, kind, label_token_ids)
            continue
        with timer:
            class_logits(model, req, kind, label_token_ids)
        tokens += req["input_ids"].shape[1]
    lat = timer.samples_ms
    s = summarize(lat)
    out.update(
        infer_latency_ms_p50=s["p50"],
        infer_latency_ms_p95=s["p95"],
        infer_latency_ms_samples=lat,
        infer_tokens_per_s=tokens / (sum(lat) / 1000) if lat else None,
    )

    bsz = measure.infer_batch_size
    batch = to_device(collate([ids[i % len(ids)] for i in range(bsz)], [0] * bsz, pad_id, left), device)
    real = int(batch["attention_mask"].sum())
    for _ in range(measure.infer_warmup):
        class_logits(model, batch, kind, label_token_ids)
    sync(device)
    timer = Timer(device)
    for _ in range(measure.infer_repeats):
        with timer:
            class_logits(model, batch, kind, label_token_ids)
    bs = timer.samples_ms
    sb = summarize(bs)
    out.update(
        infer_batch_size=bsz,
        infer_batch_ms_p50=sb["p50"],
        infer_batch_ms_samples=bs,
        infer_tokens_per_s_batch=real / (sb["p50"] / 1000) if sb["p50"] else None,
        infer_extra_tokens_per_request=virtual_tokens,
    )
    return out

"""Generation tasks: greedy decoding for scoring, and the serving-side clocks of generation
(time to first token, time per output token, output tokens/s at batch 1 and batch N).

Scoring decodes greedily until EOS or the task's `max_new_tokens`. Timing decodes a fixed number of
tokens (EOS ignored, so every method and request produces the same output length); one clock
reading per decoding step gives the first-token time and the per-token times of the same call. Soft prompts' virtual tokens are prefilled but not counted as
prompt or output tokens: rows record them separately (`virtual_tokens`).
"""

from __future__ import annotations

import functools
import inspect
import re
import time

import torch

from bench.config import Measure
from bench.measure.data import batch_order, collate, to_device
from bench.measure.timing import summarize, sync


def answer_text(raw: str, answer_regex: str = "") -> str:
    """The scored part of a generated text (pure): the first line, stripped; with a regex, its first
    match (empty when nothing matches)."""
    text = raw.strip().split("\n", 1)[0].strip()
    if answer_regex:
        m = re.search(answer_regex, text)
        return m.group(0) if m else ""
    return text


def _inner(model):
    """The model that continues from a cache: a PEFT model's base (its LoRA / IA3 layers are injected
    there), so soft prompts and prefixes enter once, with the prompt, and not again at every step."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


@functools.cache
def _cache_kwarg(model_cls) -> str:
    """The forward's name for the KV cache, read once per class: `cache` (transformers 5.2x) or `past_key_values`."""
    return "cache" if "cache" in inspect.signature(model_cls.forward).parameters else "past_key_values"


def _cache(out):
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values


def greedy(
    model,
    batch: dict,
    *,
    max_new_tokens: int,
    eos_id: int,
    pad_id: int,
    virtual_tokens: int = 0,
    stop_at_eos: bool = True,
    clock=None,
) -> torch.Tensor:
    """Greedy decoding with a KV cache: [batch, new tokens]. The first forward goes through the
    (PEFT) model and prefills prompt plus virtual tokens; each later step feeds one token to the
    inner model with the cache. With stop_at_eos=False every row gets exactly max_new_tokens
    (fixed output length, for timing). `clock()` is called after each token is chosen.

    Written out rather than model.generate(): with peft 0.21 and transformers 5.24, generate()
    drops prefix tuning's prefix (the cache it builds replaces peft's past_key_values)."""
    mask = batch["attention_mask"]
    out = model(input_ids=batch["input_ids"], attention_mask=mask, use_cache=True, logits_to_keep=1)
    mask = torch.cat([mask.new_ones(mask.shape[0], virtual_tokens), mask], 1) if virtual_tokens else mask
    token = out.logits[:, -1].argmax(-1)
    done = torch.zeros_like(token, dtype=torch.bool)
    new = []
    inner, cache = _inner(model), _cache(out)
    key = _cache_kwarg(type(inner))
    for step in range(max_new_tokens):
        if stop_at_eos:
            token = torch.where(done, torch.full_like(token, pad_id), token)
            done |= token == eos_id
        new.append(token)
        if clock is not None:
            clock()
        if step == max_new_tokens - 1 or (stop_at_eos and bool(done.all())):
            break
        mask = torch.cat([mask, mask.new_ones(mask.shape[0], 1)], 1)
        out = inner(input_ids=token[:, None], attention_mask=mask, use_cache=True, **{key: cache})
        cache = _cache(out)
        token = out.logits[:, -1].argmax(-1)
    return torch.stack(new, 1)


@torch.inference_mode()
def generate_texts(
    model,
    tok,
    prompts: list[list[int]],
    *,
    max_new_tokens: int,
    batch_size: int,
    device: torch.device,
    virtual_tokens: int = 0,
) -> list[str]:
    """Greedy continuations of left-padded prompts, in the prompts' order."""

    model.eval()
    texts: list[str] = [""] * len(prompts)
    for idx in batch_order([len(p) for p in prompts], batch_size, None, True):
        batch = to_device(collate([prompts[i] for i in idx], [0] * len(idx), tok.pad_token_id, True), device)
        new = greedy(
            model,
            batch,
            max_new_tokens=max_new_tokens,
            pad_id=tok.pad_token_id,
            eos_id=tok.eos_token_id,
            virtual_tokens=virtual_tokens,
        )
        for i, row in zip(idx, new.tolist()):
            if tok.eos_token_id in row:
                row = row[: row.index(tok.eos_token_id)]
            texts[i] = tok.decode([t for t in row if t != tok.pad_token_id], skip_special_tokens=True)
    return texts


def _timed_call(model, batch, n_tokens: int, pad_id: int, eos_id: int, device, virtual_tokens: int):
    """(time to first token, per-token times after it, total), in ms, of one fixed-length call."""
    times: list[float] = []

    def clock():
        sync(device)
        times.append(time.perf_counter())

    sync(device)
    t0 = time.perf_counter()
    greedy(
        model,
        batch,
        max_new_tokens=n_tokens,
        pad_id=pad_id,
        eos_id=eos_id,
        virtual_tokens=virtual_tokens,
        stop_at_eos=False,
        clock=clock,
    )
    total = (times[-1] - t0) * 1000
    return (times[0] - t0) * 1000, [(b - a) * 1000 for a, b in zip(times, times[1:])], total


def _clocked(
    model, batches: list[dict], warmup: int, n_tokens: int, pad_id: int, eos_id: int, device, virtual_tokens: int
) -> tuple[list[float], list[float], list[float]]:
    """Fixed-length calls, one per batch, the first `warmup` discarded: (TTFTs, per-token times, totals) in ms."""
    ttft, tpot, totals = [], [], []
    for i, batch in enumerate(batches):
        t_first, per_token, total = _timed_call(model, batch, n_tokens, pad_id, eos_id, device, virtual_tokens)
        if i >= warmup:
            ttft.append(t_first)
            tpot += per_token
            totals.append(total)
    return ttft, tpot, totals


@torch.inference_mode()
def generation_metrics(
    model,
    prompts: list[list[int]],
    *,
    pad_id: int,
    eos_id: int,
    device: torch.device,
    measure: Measure,
    virtual_tokens: int,
) -> dict:
    """TTFT, TPOT and output tokens/s at batch 1 (distinct requests) and at batch N (one batch, repeated)."""
    model.eval()
    if not prompts:
        return {}
    n, warm = measure.gen_new_tokens, measure.gen_warmup
    clock = dict(warmup=warm, n_tokens=n, pad_id=pad_id, eos_id=eos_id, device=device, virtual_tokens=virtual_tokens)
    requests = [prompts[i % len(prompts)] for i in range(warm + measure.gen_requests)]
    ttft, tpot, totals = _clocked(
        model, [to_device(collate([p], [0], pad_id, True), device) for p in requests], **clock
    )
    timed = requests[warm:]
    s_ttft, s_tpot = summarize(ttft), summarize(tpot)
    out = dict(
        gen_new_tokens=n,
        gen_extra_tokens_per_request=virtual_tokens,
        gen_ttft_ms_p50=s_ttft["p50"],
        gen_ttft_ms_p95=s_ttft["p95"],
        gen_ttft_ms_samples=ttft,
        gen_tpot_ms_p50=s_tpot["p50"],
        gen_tpot_ms_p95=s_tpot["p95"],
        gen_tokens_per_s=n * len(totals) / (sum(totals) / 1000),
        gen_prompt_tokens_mean=sum(map(len, timed)) / len(timed),
    )

    bsz = measure.infer_batch_size
    batch = to_device(collate([prompts[i % len(prompts)] for i in range(bsz)], [0] * bsz, pad_id, True), device)
    b_ttft, b_tpot, b_totals = _clocked(model, [batch] * (warm + measure.gen_repeats), **clock)
    p50 = summarize(b_totals)["p50"]
    out.update(
        gen_batch_size=bsz,
        gen_batch_ttft_ms_p50=summarize(b_ttft)["p50"],
        gen_batch_tpot_ms_p50=summarize(b_tpot)["p50"],
        gen_batch_ms_samples=b_totals,
        gen_tokens_per_s_batch=bsz * n / (p50 / 1000),
    )
    return out

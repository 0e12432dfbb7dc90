"""The plain training loop (no HF Trainer): AdamW, linear warm-up then linear decay, seeded,
optionally under bf16 autocast (`budget.precision`).

Also the forward that turns a batch into class logits for both model kinds, and prediction.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from bench.config import Budget
from bench.measure.data import to_device
from bench.measure.timing import Timer, summarize


@dataclass
class TrainStats:
    steps: int = 0
    losses: list[float] = field(default_factory=list)
    step_ms: list[float] = field(default_factory=list)  # timed steps only (after warm-up)
    timed_real_tokens: int = 0
    timed_effective_tokens: int = 0
    real_tokens: int = 0
    wall_s: float = 0.0
    diverged: bool = False


def class_logits(model, batch: dict[str, torch.Tensor], kind: str, label_token_ids: list[int] | None) -> torch.Tensor:
    """[batch, num_labels] logits. Causal LMs: next-token logits of the label words at the last position
    (rows are left-padded, so the last position is every row's final real token)."""
    if kind == "causal":
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], logits_to_keep=1)
        return out.logits[:, -1, label_token_ids]
    return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits


def lm_loss(model, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Next-token cross-entropy on the positions whose label is not -100 (the answer of a generation
    task). Prompt-learning adapters prepend virtual positions: only the last T logits are the input's."""
    width = batch["input_ids"].shape[1]
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, -width:]
    return torch.nn.functional.cross_entropy(
        logits[:, :-1].flatten(0, 1).float(), batch["labels"][:, 1:].flatten(), ignore_index=-100
    )


def batch_loss(model, batch: dict[str, torch.Tensor], kind: str, label_token_ids) -> torch.Tensor:
    """Class labels (one per row): cross-entropy over class logits; token labels: the LM loss."""
    if batch["labels"].dim() == 2:
        return lm_loss(model, batch)
    return torch.nn.functional.cross_entropy(class_logits(model, batch, kind, label_token_ids).float(), batch["labels"])


def lr_lambda(total_steps: int, warmup_ratio: float):
    warmup = max(1, math.ceil(total_steps * warmup_ratio)) if warmup_ratio > 0 else 0

    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return f


def autocast(device: torch.device, precision: str):
    """The context a training step's forward and loss run in: bf16 autocast (fp32 master weights, as
    torch.amp does it: matmuls in bf16, reductions and the loss in fp32), or nothing for fp32."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def train(
    model,
    train_batches,
    *,
    kind: str,
    label_token_ids,
    lr: float,
    budget: Budget,
    warmup_steps: int,
    device: torch.device,
    virtual_tokens: int = 0,
    seed: int = 0,
    show_progress: bool = True,
) -> TrainStats:
    """Train the parameters that require grad. `train_batches(epoch)` gives that epoch's batches."""
    stats = TrainStats()
    params = [p for p in model.parameters() if p.requires_grad]
    if not params or lr <= 0:
        return stats
    steps_per_epoch = len(train_batches(0))
    total = budget.max_steps or budget.epochs * steps_per_epoch
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=budget.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(total, budget.warmup_ratio))
    timer = Timer(device)
    model.train()
    torch.manual_seed(seed)  # dropout masks
    bar = tqdm(total=total, desc="  train", leave=False, disable=not show_progress, unit="step")
    t0 = time.perf_counter()
    epoch = 0
    while stats.steps < total:
        for batch in train_batches(epoch):
            if stats.steps >= total:
                break
            batch = to_device(batch, device)
            n_real = int(batch["attention_mask"].sum())
            timed = stats.steps >= warmup_steps
            if timed:
                timer.__enter__()
            with autocast(device, budget.precision):
                loss = batch_loss(model, batch, kind, label_token_ids)
            loss.backward()
            if budget.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(params, budget.grad_clip)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            if timed:
                timer.__exit__(None, None, None)
                stats.timed_real_tokens += n_real
                stats.timed_effective_tokens += n_real + virtual_tokens * batch["input_ids"].shape[0]
            value = loss.item()
            stats.losses.append(value)
            stats.real_tokens += n_real
            stats.steps += 1
            bar.update(1)
            if not math.isfinite(value):
                stats.diverged = True
                break
        if stats.diverged:
            break
        epoch += 1
    bar.close()
    stats.wall_s = time.perf_counter() - t0
    stats.step_ms = timer.samples_ms
    return stats


def train_recorded(
    model,
    batches_for_epoch,
    n_examples: int,
    *,
    lr: float,
    budget: Budget,
    measure,
    seed: int,
    show_progress: bool,
    virtual_tokens: int,
    **fwd,
) -> dict:
    """Train as a run does (its warm-up steps untimed) -> the row's training fields; a loss that is no longer
    finite stops the run (RuntimeError: a `failed` row)."""
    stats = train(
        model,
        batches_for_epoch,
        lr=lr,
        budget=budget,
        warmup_steps=measure.train_warmup_steps,
        virtual_tokens=virtual_tokens,
        seed=seed,
        show_progress=show_progress,
        **fwd,
    )
    if stats.diverged:
        raise RuntimeError(f"training diverged: loss {stats.losses[-1]} at step {stats.steps}")
    return {**train_metrics(stats), "train_examples": n_examples}


def train_metrics(stats) -> dict:
    """Throughput over the timed steps only (warm-up excluded); real and effective tokens (pure)."""

    timed_s = sum(stats.step_ms) / 1000
    step = summarize(stats.step_ms)
    return dict(
        train_steps=stats.steps,
        train_wall_s=round(stats.wall_s, 3),
        train_tokens=stats.real_tokens,
        loss_first=stats.losses[0] if stats.losses else None,
        loss_last=stats.losses[-1] if stats.losses else None,
        loss_curve=[round(x, 5) for x in stats.losses],
        train_tokens_per_s=stats.timed_real_tokens / timed_s if timed_s else None,
        train_tokens_per_s_effective=stats.timed_effective_tokens / timed_s if timed_s else None,
        train_step_ms_p50=step["p50"],
        train_step_ms_iqr=step["iqr"],
        train_step_ms_samples=stats.step_ms,
    )


@torch.inference_mode()
def predict(model, batches, *, kind: str, label_token_ids, device: torch.device) -> tuple[list[int], list[int]]:
    model.eval()
    preds, labels = [], []
    for batch in batches:
        batch = to_device(batch, device)
        logits = class_logits(model, batch, kind, label_token_ids)
        preds += logits.argmax(-1).tolist()
        labels += batch["labels"].tolist()
    return preds, labels

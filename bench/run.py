"""One run: (task, model, method, seed, budget) -> one result row. Never raises for a run's own
failure: an exception becomes a `failed` row, out-of-memory an `oom` row, a method the model
cannot take an `unsupported` row."""

from __future__ import annotations

import dataclasses
import random
import tempfile
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from bench.config import Budget, Measure
from bench.errors import BenchError, Unsupported


@dataclass(frozen=True)
class RunSpec:
    suite: str
    task: str
    model: str
    method: str
    seed: int
    device: str  # "cpu" or "cuda" (resolved)
    budget: Budget = field(default_factory=Budget)
    measure: Measure = field(default_factory=Measure)
    params: dict = field(default_factory=dict)  # overrides for this method
    tasks_dirs: tuple[str, ...] = ()
    show_progress: bool = True


def base_row(spec: RunSpec) -> dict:
    from bench import envinfo, results

    return {
        "schema_version": results.SCHEMA_VERSION,
        "kind": "run",
        "run_id": uuid.uuid4().hex[:16],
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **envinfo.git_state(),
        "machine_id": envinfo.machine_id(),
        "suite": spec.suite, "task": spec.task, "model": spec.model, "method": spec.method,
        "seed": spec.seed, "budget": dataclasses.asdict(spec.budget), "measure": dataclasses.asdict(spec.measure),
        "method_params": dict(spec.params), "status": "failed", "error": None,
    }


def quiet_libraries() -> None:
    """Load reports and weight-loading bars from transformers would bury the suite's own progress."""
    import warnings

    import transformers

    warnings.filterwarnings("ignore", category=FutureWarning, module=r"(transformers|peft)\.")
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def execute(spec: RunSpec) -> dict:
    import torch

    quiet_libraries()
    row = base_row(spec)
    t0 = time.perf_counter()
    try:
        row.update(_execute(spec, row))
        row["status"] = "ok"
    except Unsupported as e:
        row.update(status="unsupported", error=str(e))
    except (torch.OutOfMemoryError, MemoryError) as e:
        row.update(status="oom", error=f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
    except BenchError as e:
        row.update(status="failed", error=str(e))
    except Exception as e:  # noqa: BLE001 - a failed run is a row, the suite goes on
        tb = traceback.extract_tb(e.__traceback__)[-1]
        row.update(status="failed", error=f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''} "
                                          f"(at {Path(tb.filename).name}:{tb.lineno})")
    row["wall_s"] = round(time.perf_counter() - t0, 3)
    from bench.results import clean_floats
    return clean_floats(row)


def _seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _execute(spec: RunSpec, row: dict) -> dict:
    import torch

    from bench import data, envinfo, evaluate, memory, methods, models, tasks
    from bench.measure import inference_metrics, saved_bytes, trainable_counts
    from bench.train import predict, train

    device = torch.device(spec.device)
    row["env"] = envinfo.environment(device)
    task = tasks.load_task(spec.task, [Path(d) for d in spec.tasks_dirs])
    row["task_version"] = task.version
    method, params = methods.resolve(spec.method, spec.params)
    row["method_params"] = methods.params_dict(params)
    row["lr_source"] = method.lr_source

    splits = tasks.split_examples(tasks.load_examples(task), task.split)
    train_ex = splits["train"][: spec.budget.train_examples or None]
    test_ex = splits["test"][: spec.budget.eval_examples or None]
    val_ex = splits["validation"][: spec.measure.validation_examples or None]

    memory.reset_peak(device)
    row["mem_baseline_bytes"] = memory.current_rss_bytes() if device.type == "cpu" else 0
    _seed_everything(spec.seed)
    spec_model = models.resolve(spec.model)
    model, tok, kind = models.load(spec_model, num_labels=len(task.labels))
    row["model_kind"] = kind
    label_ids = _label_token_ids(tok, task) if kind == "causal" else None
    ctx = methods.BuildContext(kind=kind, task_text=task.description or task.name,
                               tokenizer_path=models.local_path(spec_model))
    model = method.build(model, params, ctx).to(device)
    row.update(trainable_counts(model))
    virtual = int(getattr(params, "num_virtual_tokens", 0) or _virtual_tokens(model))
    row["virtual_tokens"] = virtual

    left = kind == "causal"
    enc = {name: data.encode(ex, tok, task, kind, spec.budget.max_length)
           for name, ex in (("train", train_ex), ("test", test_ex), ("validation", val_ex))}
    lab = {"train": [e.label for e in train_ex], "test": [e.label for e in test_ex],
           "validation": [e.label for e in val_ex]}
    pad = tok.pad_token_id

    def train_batches(epoch: int):
        return data.make_batches(enc["train"], lab["train"], spec.budget.batch_size, pad, left,
                                 shuffle_seed=spec.seed * 1000 + epoch, group_by_length=spec.budget.group_by_length)

    stats = train(model, train_batches, kind=kind, label_token_ids=label_ids, lr=params.lr, budget=spec.budget,
                  warmup_steps=spec.measure.train_warmup_steps, device=device, virtual_tokens=virtual,
                  seed=spec.seed, show_progress=spec.show_progress)
    if stats.diverged:
        raise RuntimeError(f"training diverged: loss {stats.losses[-1]} at step {stats.steps}")
    timed_s = sum(stats.step_ms) / 1000
    from bench.timing import summarize
    step = summarize(stats.step_ms)
    row.update(
        train_steps=stats.steps, train_examples=len(train_ex), train_wall_s=round(stats.wall_s, 3),
        train_tokens=stats.real_tokens, loss_first=stats.losses[0] if stats.losses else None,
        loss_last=stats.losses[-1] if stats.losses else None, loss_curve=[round(x, 5) for x in stats.losses],
        train_tokens_per_s=stats.timed_real_tokens / timed_s if timed_s else None,
        train_tokens_per_s_effective=stats.timed_effective_tokens / timed_s if timed_s else None,
        train_step_ms_p50=step["p50"], train_step_ms_iqr=step["iqr"], train_step_ms_samples=stats.step_ms,
    )

    eb = spec.budget.eval_batch_size
    preds, labels = predict(model, data.make_batches(enc["test"], lab["test"], eb, pad, left, group_by_length=True), kind=kind,
                            label_token_ids=label_ids, device=device)
    correct = [int(p == y) for p, y in zip(preds, labels)]
    lo, hi = evaluate.bootstrap_ci(correct, spec.measure.bootstrap_samples, seed=spec.seed)
    row.update(accuracy=evaluate.accuracy(preds, labels), accuracy_ci_low=lo, accuracy_ci_high=hi,
               macro_f1=evaluate.macro_f1(preds, labels, len(task.labels)), n_eval=len(labels))
    if val_ex:
        vp, vl = predict(model, data.make_batches(enc["validation"], lab["validation"], eb, pad, left,
                                                          group_by_length=True), kind=kind,
                         label_token_ids=label_ids, device=device)
        row.update(val_accuracy=evaluate.accuracy(vp, vl), n_val=len(vl))

    row.update(inference_metrics(model, enc["test"], lab["test"], pad, left, kind=kind, label_token_ids=label_ids,
                                 device=device, measure=spec.measure, virtual_tokens=virtual))
    row["peak_mem_bytes"] = memory.peak_bytes(device)
    with tempfile.TemporaryDirectory() as tmp:
        row["adapter_bytes"] = saved_bytes(model, Path(tmp), peft=method.peft)
    return row


def _label_token_ids(tok, task) -> list[int]:
    if not task.label_words:
        raise BenchError(f"task {task.name} has no label_words: causal LMs score label words")
    ids = [tok.encode(w, add_special_tokens=False)[0] for w in task.label_words]
    if len(set(ids)) != len(ids):
        raise BenchError(f"task {task.name}: label words {list(task.label_words)} share a first token")
    return ids


def _virtual_tokens(model) -> int:
    cfg = getattr(model, "peft_config", {}).get("default") if hasattr(model, "peft_config") else None
    return int(getattr(cfg, "num_virtual_tokens", 0) or 0) if cfg is not None and getattr(cfg, "is_prompt_learning", False) else 0

"""One run: (task, model, method, seed, budget) -> one result row. Never raises for a run's own
failure: an exception becomes a `failed` row, out-of-memory an `oom` row, a method the model
cannot take an `unsupported` row. A shape-only model's run (random weights, speed only) goes through
bench/execute/shape_run.py instead of loading, scoring and evaluating."""

from __future__ import annotations

import dataclasses
import time
import traceback
from pathlib import Path

from bench.catalog import methods, models, shapes, tasks
from bench.errors import BenchError, Unsupported
from bench.execute.device import seed_everything
from bench.execute.shape_run import execute_shape
from bench.execute.spec import RunSpec, model_fields, task_and_method
from bench.measure import environment, evaluate, machine, memory, spectrum
from bench.measure.data import Encoded, encode_splits
from bench.measure.generate import answer_text, generate_texts, generation_metrics
from bench.measure.inference import adapter_size, adapter_targets, inference_metrics, trainable_counts, virtual_tokens
from bench.measure.train import predict, train_recorded
from bench.rows.fields import stamp
from bench.rows.memory import OWN_PEAK, own_peak
from bench.rows.store import clean_floats


def base_row(spec: RunSpec) -> dict:

    return {
        **stamp("run", spec.device),
        "config_hash": spec.config_hash,
        "suite": spec.suite,
        "task": spec.task,
        "task_version": spec.task_version,
        "task_digest": spec.task_digest,
        "model": spec.model,
        "method": spec.method,
        "base_method": spec.base_method or spec.method,
        "seed": spec.seed,
        "budget": dataclasses.asdict(spec.budget),
        "measure": dataclasses.asdict(spec.measure),
        "method_params": dict(spec.params),
        "deterministic": spec.deterministic,
        **model_fields(spec.model, spec.layers, spec.dtype),
        "status": "failed",
        "error": None,
        **({"lr_sweep": list(spec.lr_sweep)} if spec.lr_sweep else {}),  # one point of a learning-rate sweep
        **({"sweep": [dict(p) for p in spec.sweep]} if spec.sweep else {}),  # ... or of a sweep with other points
    }


def quiet_libraries() -> None:
    """Load reports and weight-loading bars from transformers would bury the suite's own progress."""
    import warnings

    import transformers

    warnings.filterwarnings("ignore", category=FutureWarning, module=r"(transformers|peft)\.")
    # peft's soft prompts ignore the position ids generate() passes, as intended (they are re-derived)
    warnings.filterwarnings("ignore", message="Position ids are not supported for parameter efficient tuning")
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def failure(e: BaseException) -> tuple[str, str]:
    """(status, error) of work that raised, as its row records them: `unsupported` (a method the model cannot
    take), `oom` (out of memory) or `failed`, the error in one line (with where it raised, unless it is bad
    input). The one rule for a run, a switching strategy and a served strategy."""
    import torch

    first = str(e).splitlines()[0] if str(e) else ""
    if isinstance(e, Unsupported):
        return "unsupported", str(e)
    if isinstance(e, (torch.OutOfMemoryError, MemoryError)):
        return "oom", f"{type(e).__name__}: {first}"
    if isinstance(e, BenchError):
        return "failed", str(e)
    where = traceback.extract_tb(e.__traceback__)[-1:]
    at = f" (at {Path(where[0].filename).name}:{where[0].lineno})" if where else ""
    return "failed", f"{type(e).__name__}: {first}{at}"


def execute(spec: RunSpec) -> dict:
    quiet_libraries()
    row = {**base_row(spec), **machine.at_start()}
    t0 = time.perf_counter()
    try:
        row.update((execute_shape if shapes.is_shape(spec.model) else _execute)(spec, row))
        row["status"] = "ok"
    except Exception as e:  # noqa: BLE001 - a failed run is a row, the suite goes on
        status, error = failure(e)
        row.update(status=status, error=error)
    row["wall_s"] = round(time.perf_counter() - t0, 3)
    row.update(machine.at_end())
    return clean_floats(row)


def _execute(spec: RunSpec, row: dict) -> dict:
    """Load -> build the method -> train -> evaluate -> measure inference, memory and size."""
    import torch

    device = torch.device(spec.device)
    row["env"] = environment.environment(device)
    task, splits, method, params = _task_and_method(spec, row)

    memory.reset_peak(device)
    row["mem_baseline_bytes"] = memory.current_rss_bytes() if device.type == "cpu" else 0
    seed_everything(spec.seed, spec.deterministic)
    model, tok, kind = _model(spec, task, method, params, device, row)
    targets = _lora_targets(model) if spec.method == "full" else ()
    before = spectrum.target_weights(model, targets) if targets else {}  # claim 2: dW = W_ft - W0 after training
    virtual = virtual_tokens(model)
    row.update(model_kind=kind, virtual_tokens=virtual, **trainable_counts(model), **adapter_targets(model))

    _causal_only(task, spec, kind)  # a hub id's kind is known once loaded
    sets = encode_splits(splits, tok, task, kind, spec.budget, spec.measure, spec.seed)
    words = kind == "causal" and not task.is_generation  # label-word scoring
    fwd = dict(
        kind=kind,
        device=device,
        label_token_ids=_label_token_ids(tok, task, spec.budget.chat_template) if words else None,
    )
    row.update(
        train_recorded(
            model,
            sets["train"].batches_for_epoch,
            len(sets["train"].ids),
            lr=params.lr,
            budget=spec.budget,
            measure=spec.measure,
            seed=spec.seed,
            show_progress=spec.show_progress,
            virtual_tokens=virtual,
            **fwd,
        )
    )
    if before:
        row["update_spectrum"] = spectrum.update_spectrum(before, spectrum.target_weights(model, targets))
    _evaluate(model, tok, task, spec, sets, fwd, virtual, row)
    row["peak_mem_bytes"] = memory.peak_bytes(device)
    row[OWN_PEAK] = own_peak(row)
    row.update(adapter_size(model, method.peft, spec.adapters_dir, row["run_id"]))
    return row


def _task_and_method(spec: RunSpec, row: dict):
    """The task, its split examples, the method and its parameters; what the row records of them."""
    task, method, params = task_and_method(spec, row)
    splits = tasks.split_examples(tasks.load_examples(task), task.split)
    if task.data_revision is None and "hf" in task.source:  # fetched just now: its commit is known from here on
        task = dataclasses.replace(task)  # a fresh digest, naming that commit as later plans will
    row.update(task_digest=task.digest, data_revision=task.data_revision)
    return task, splits, method, params


def _model(spec: RunSpec, task, method, params, device, row: dict):
    """The model loaded and the method built on it, on the device: (model, tokenizer, kind)."""
    model_spec = models.resolve(spec.model)
    _causal_only(task, spec, model_spec.kind)  # known before loading for built-in models and local folders
    model, tok, kind = models.load(model_spec, num_labels=max(2, len(task.labels)))
    row["model_revision"] = models.revision(model_spec, model)
    ctx = methods.BuildContext(
        kind=kind, task_text=task.description or task.name, tokenizer_path=models.local_path(model_spec)
    )
    return method.build(model, params, ctx).to(device), tok, kind


def _evaluate(model, tok, task, spec: RunSpec, sets: dict, fwd: dict, virtual: int, row: dict) -> None:
    """Score the test split and time inference on it (generation or classification), then score validation."""
    device = fwd["device"]
    test = sets["test"]
    if task.is_generation:
        score = lambda split: _score_generation(model, tok, split, task, spec, device, virtual)  # noqa: E731
        row.update(score(test))
        row.update(
            generation_metrics(
                model,
                test.ids,
                pad_id=tok.pad_token_id,
                eos_id=tok.eos_token_id,
                device=device,
                measure=spec.measure,
                virtual_tokens=virtual,
            )
        )
    else:
        score = lambda split: _score(model, split, len(task.labels), spec, fwd)  # noqa: E731
        row.update(score(test))
        row.update(
            inference_metrics(
                model,
                test.ids,
                test.labels,
                test.pad_id,
                test.left,
                measure=spec.measure,
                virtual_tokens=virtual,
                **fwd,
            )
        )
    if sets["validation"].ids:
        val = score(sets["validation"])  # the task's metric; its per-example vector is not kept
        row.update(val_accuracy=val["score"], n_val=val["n_eval"])


def _score(model, split: Encoded, num_labels: int, spec: RunSpec, fwd: dict) -> dict:

    preds, labels = predict(model, split.eval_batches(), **fwd)
    correct = [int(p == y) for p, y in zip(preds, labels)]
    lo, hi = evaluate.bootstrap_ci(correct, spec.measure.bootstrap_samples, seed=spec.seed)
    by_example = [0] * len(correct)  # in the split's order, so runs on the same examples pair up
    for pos, i in enumerate(split.eval_order()):
        by_example[i] = correct[pos]
    acc = evaluate.accuracy(preds, labels)
    return dict(
        accuracy=acc,
        accuracy_ci_low=lo,
        accuracy_ci_high=hi,
        metric="accuracy",
        score=acc,
        macro_f1=evaluate.macro_f1(preds, labels, num_labels),
        n_eval=len(labels),
        label_counts=[labels.count(i) for i in range(num_labels)],  # per class, in the task's label order
        pred_counts=[preds.count(i) for i in range(num_labels)],
        test_correct="".join(map(str, by_example)),
    )  # 1 where the test example was right


def _score_generation(model, tok, split: Encoded, task, spec: RunSpec, device, virtual_tokens: int) -> dict:
    """Greedy answers to the split's prompts -> exact match (its bootstrap CI as the accuracy interval),
    ROUGE-L, BLEU, and the task's metric as `score` (0-1; BLEU / 100)."""

    raw = generate_texts(
        model,
        tok,
        split.ids,
        max_new_tokens=task.max_new_tokens,
        batch_size=spec.budget.eval_batch_size,
        device=device,
        virtual_tokens=virtual_tokens,
    )
    preds = [answer_text(t, task.answer_regex) for t in raw]
    refs = [[answer_text(t, task.answer_regex) for t in ts] for ts in split.references]
    correct = evaluate.exact_match(preds, refs)
    lo, hi = evaluate.bootstrap_ci(correct, spec.measure.bootstrap_samples, seed=spec.seed)
    rouge = evaluate.rouge_l(preds, refs)
    scores = {
        "exact_match": sum(correct) / len(correct),
        "rougeL": sum(rouge) / len(rouge),
        "bleu": evaluate.bleu(preds, refs) / 100,
    }
    out = dict(
        accuracy=scores["exact_match"],
        accuracy_ci_low=lo,
        accuracy_ci_high=hi,
        metric=task.metric,
        score=scores[task.metric],
        exact_match=scores["exact_match"],
        rougeL=scores["rougeL"],
        bleu=scores["bleu"],
        n_eval=len(correct),
        test_correct="".join(map(str, correct)),
        samples=[
            {"output": r, "answer": p, "target": t[0], "references": len(t)} for r, p, t in zip(raw[:5], preds, refs)
        ],
    )
    if task.metric == "rougeL":
        out["score_ci_low"], out["score_ci_high"] = evaluate.bootstrap_ci(
            rouge, spec.measure.bootstrap_samples, seed=spec.seed
        )
    return out


def _lora_targets(model) -> tuple[str, ...]:
    """The matrices LoRA targets by default for this architecture (PEFT's mapping): query/value, q_proj/v_proj."""
    from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as MAPPING

    return tuple(MAPPING.get(getattr(model.config, "model_type", ""), ()))


def _causal_only(task, spec: RunSpec, kind: str) -> None:
    """Generation tasks and chat-template prompts need a causal LM: on an encoder the run is `unsupported`."""
    if kind != "encoder":
        return
    if task.is_generation:
        raise Unsupported(f"{task.name} is a generation task: it needs a causal LM, and {spec.model} is an encoder")
    if spec.budget.chat_template:
        raise Unsupported(f"budget.chat_template needs a causal LM; {spec.model} is an encoder")


def _label_token_ids(tok, task, chat: bool = False) -> list[int]:
    """The first token of each label word scored (Task.words_for: the chat turn's words with `chat`)."""
    if not task.label_words:
        raise BenchError(f"task {task.name} has no label_words: causal LMs score label words")
    words = task.words_for(chat)
    ids = [tok.encode(w, add_special_tokens=False)[0] for w in words]
    if len(set(ids)) != len(ids):
        raise BenchError(f"task {task.name}: label words {list(words)} share a first token")
    return ids

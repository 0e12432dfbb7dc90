"""A run on a shape-only model (`--model shape:<name>`, bench/catalog/shapes.py): the architecture with random
weights, no download and no tokenizer, so the run measures speed and memory at a real model's shape and never
accuracy. It trains with the same loop, the same forward and the same loss as a run on a pretrained causal LM:

- inputs: random token ids, drawn with the run's seed, every sequence `budget.max_length` tokens long (no
  padding: the step of a full-length batch, the most a batch of that budget costs; a real task's shorter
  texts make its steps cheaper);
- classification tasks: random class ids, scored as a causal LM scores label words, through the next-token
  logits of label tokens 0..k-1 for k classes; generation tasks: the LM loss on the sequence's last
  `max_new_tokens` tokens (the answer), then the clocks of fixed-length greedy decoding;
- training examples: `budget.train_examples`, else the training share of the task's declared `size` (its
  split's `train` fraction), else `budget.max_steps` batches' worth; epochs and max_steps as for any run;
- the backbone is drawn with seed 0 for every run (one base model, as a pretrained one is); the run's seed
  draws the adapter and the data. Prompt tuning starts from random embeddings (`init: random`: there are
  no words to start from).

Nothing is scored: the row says `weights: random` and carries the layers and dtype it ran at, the training
throughput and step times, inference latency and throughput, trainable parameters, adapter size and peak
memory, and no accuracy, score or validation field, so no accuracy table, claim or choice ever reads it."""

from __future__ import annotations

from bench.catalog import methods, models, shapes, tasks
from bench.config import Budget, Measure
from bench.execute.device import seed_everything
from bench.execute.spec import task_and_method, train_count
from bench.measure import environment, memory
from bench.measure.data import Encoded
from bench.measure.generate import generation_metrics
from bench.measure.inference import adapter_size, adapter_targets, inference_metrics, trainable_counts, virtual_tokens
from bench.measure.train import train_recorded
from bench.rows.memory import OWN_PEAK, own_peak

BACKBONE_SEED = 0  # every run's random backbone: the same base model for every method and seed


def synthetic_sets(task: tasks.Task, budget: Budget, measure: Measure, seed: int, vocab: int, pad_id: int) -> dict:
    """{"train", "test"} -> Encoded random sequences of budget.max_length tokens (generation tasks: the test
    prompts leave room for the answer), seeded. The test set is what the inference clocks cycle through:
    one sequence per timed batch-1 request (warm-up included), at least one batch of infer_batch_size."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    length = budget.max_length
    answer = min(task.max_new_tokens, length - 1) if task.is_generation else 0
    n_train = train_count(task, budget)
    n_test = max(measure.infer_batch_size, measure.latency_warmup + measure.latency_requests)
    train_ids = torch.randint(0, vocab, (n_train, length), generator=gen).tolist()
    test_ids = torch.randint(0, vocab, (n_test, length - answer), generator=gen).tolist()
    if task.is_generation:  # the loss is on the answer only, as encode_generation labels it
        train_labels = [[-100] * (length - answer) + ids[-answer:] for ids in train_ids]
        test_labels = [-1] * n_test
    else:
        k = max(2, len(task.labels))
        train_labels = torch.randint(0, k, (n_train,), generator=gen).tolist()
        test_labels = torch.randint(0, k, (n_test,), generator=gen).tolist()
    split = dict(pad_id=pad_id, left=True, seed=seed, group_by_length=budget.group_by_length)
    return {
        "train": Encoded(train_ids, train_labels, batch_size=budget.batch_size, **split),
        "test": Encoded(test_ids, test_labels, batch_size=budget.eval_batch_size, **split),
    }


def execute_shape(spec, row: dict) -> dict:
    """Build the random backbone -> the method -> train on random tokens -> time inference, memory and size.
    `spec`: the run's bench.execute.run.RunSpec (which calls this for a shape-only model)."""
    import torch

    device = torch.device(spec.device)
    row["env"] = environment.environment(device)
    task, method, params = task_and_method(spec, row)  # its file only: no examples are read
    row["model_revision"] = None
    memory.reset_peak(device)
    row["mem_baseline_bytes"] = memory.current_rss_bytes() if device.type == "cpu" else 0
    seed_everything(spec.seed, spec.deterministic)
    shape = models.resolve(spec.model).shape
    model = shapes.build(shape, layers=spec.layers, dtype=spec.dtype, causal_lm=True, seed=BACKBONE_SEED, device=device)
    vocab, eos = model.config.vocab_size, model.config.eos_token_id
    eos = eos if isinstance(eos, int) else 0
    if model.config.pad_token_id is None:
        model.config.pad_token_id = eos  # as a pretrained causal LM's tokenizer pads (with EOS)
    seed_everything(spec.seed, spec.deterministic)  # the adapter's initialisation: the run's seed
    model = method.build(model, params, methods.BuildContext(kind="causal", task_text="", tokenizer_path=""))
    model = model.to(device)
    virtual = virtual_tokens(model)
    row.update(model_kind="causal", virtual_tokens=virtual, **trainable_counts(model), **adapter_targets(model))

    sets = synthetic_sets(task, spec.budget, spec.measure, spec.seed, vocab, eos)
    k = max(2, len(task.labels))
    fwd = dict(kind="causal", device=device, label_token_ids=None if task.is_generation else list(range(k)))
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
    test = sets["test"]
    if task.is_generation:
        clocks = dict(pad_id=test.pad_id, eos_id=eos, device=device, measure=spec.measure, virtual_tokens=virtual)
        row.update(generation_metrics(model, test.ids, **clocks))
    else:
        clocks = dict(measure=spec.measure, virtual_tokens=virtual, **fwd)
        row.update(inference_metrics(model, test.ids, test.labels, test.pad_id, test.left, **clocks))
    row["peak_mem_bytes"] = memory.peak_bytes(device)
    row[OWN_PEAK] = own_peak(row)
    row.update(adapter_size(model, method.peft, spec.adapters_dir, row["run_id"]))
    return row

"""Tokenize once, batch with dynamic padding. Every method of a suite sees the same batches."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import torch

from bench.catalog.tasks import Example, Task
from bench.config import Budget, Measure
from bench.errors import Unsupported


def prompt_texts(examples: list[Example], tok, task: Task, chat: bool = False) -> list[str]:
    """The task's prompt per example; with `chat`, as one user turn of the tokenizer's chat template,
    ending with the assistant's header (the template writes its own special tokens)."""
    texts = [task.prompt_for(e.text) for e in examples]
    return [_chat_turn(tok, t) for t in texts] if chat else texts


def _chat_turn(tok, content: str) -> str:
    if not getattr(tok, "chat_template", None):
        raise Unsupported("budget.chat_template: this model's tokenizer has no chat template")
    return tok.apply_chat_template([{"role": "user", "content": content}], tokenize=False, add_generation_prompt=True)


def chat_prompt_ids(examples: list[Example], tok, task: Task, limit: int) -> list[list[int]]:
    """Each example's prompt as one user turn of the chat template, at most `limit` token ids. When it is
    longer, only the user's text is cut (from the left, as plain prompts are): the template's own parts (a
    system turn, the headers, the assistant's header at the end) are kept whole, unless they alone exceed
    the limit; then the whole turn is cut from the left."""
    marker = "\ue000"  # a private-use character: where the user's text sits in the rendered template
    parts = _chat_turn(tok, marker).split(marker)
    frame = [tok(p, add_special_tokens=False)["input_ids"] for p in parts] if len(parts) == 2 else None
    room = limit - sum(map(len, frame)) if frame else 0
    out = []
    for e in examples:
        content = task.prompt_for(e.text)
        ids = tok(_chat_turn(tok, content), add_special_tokens=False)["input_ids"]  # tokenized whole when it fits
        if len(ids) > limit and room >= 1:
            ids = frame[0] + tok(content, add_special_tokens=False)["input_ids"][-room:] + frame[1]
        out.append(ids[-limit:])
    return out


def encode(examples: list[Example], tok, task: Task, kind: str, max_length: int, chat: bool = False) -> list[list[int]]:
    if kind == "causal" and chat:
        return chat_prompt_ids(examples, tok, task, max_length)
    # A causal prompt's ending ("Sentiment:") must survive truncation: cut from the left.
    tok.truncation_side = "left" if kind == "causal" else "right"
    texts = prompt_texts(examples, tok, task) if kind == "causal" else [e.text for e in examples]
    return tok(texts, truncation=True, max_length=max_length)["input_ids"]


def encode_generation(
    examples: list[Example], tok, task: Task, max_length: int, with_target: bool, chat: bool = False
) -> tuple[list, list]:
    """Generation tasks: (token ids, per-token labels). With the target: prompt + target + EOS, labels
    -100 on the prompt (the loss is on the answer only); without: the prompt alone (labels empty).
    The prompt is cut from the left so that prompt + target fit in max_length; the target is kept.
    In a chat turn the answer starts the assistant's line, without the leading space."""
    ids, labels = [], []
    for e in examples:
        answer = task.answer_for(e.target, chat)
        target = tok(answer, add_special_tokens=False)["input_ids"] + [tok.eos_token_id] if with_target else []
        keep = max(1, max_length - len(target))
        if chat:
            prompt = chat_prompt_ids([e], tok, task, keep)[0]
        else:
            prompt = tok(task.prompt_for(e.text))["input_ids"][-keep:]
        ids.append(prompt + target)
        labels.append([-100] * len(prompt) + target)
    return ids, labels


def collate(ids: list[list[int]], labels: list, pad_id: int, left: bool) -> dict[str, torch.Tensor]:
    """Pad to the longest row. Labels are one class per row, or one token label per position
    (language-model batches: padded with -100, the ignored index)."""
    width = max(len(x) for x in ids)
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    per_token = bool(labels) and isinstance(labels[0], list)
    token_labels = torch.full((len(ids), width), -100, dtype=torch.long) if per_token else None
    for i, row in enumerate(ids):
        sl = slice(width - len(row), width) if left else slice(0, len(row))
        input_ids[i, sl] = torch.tensor(row, dtype=torch.long)
        mask[i, sl] = 1
        if per_token and labels[i]:
            token_labels[i, sl] = torch.tensor(labels[i], dtype=torch.long)
    return {
        "input_ids": input_ids,
        "attention_mask": mask,
        "labels": token_labels if per_token else torch.tensor(labels, dtype=torch.long),
    }


def batch_order(
    lengths: list[int], batch_size: int, shuffle_seed: int | None, group_by_length: bool, megabatch: int = 50
) -> list[list[int]]:
    """Indices of each batch (pure). Shuffled when a seed is given. Grouping by length (as HF's
    LengthGroupedSampler: sort within shuffled mega-batches of 50 batches, then shuffle the batches)
    cuts padding; without a seed it simply sorts, which is exact for evaluation."""
    order = list(range(len(lengths)))
    rng = random.Random(shuffle_seed)
    if shuffle_seed is not None:
        rng.shuffle(order)
    if group_by_length:
        if shuffle_seed is None:
            order.sort(key=lambda i: lengths[i])
        else:
            size = batch_size * megabatch
            order = [
                i for s in range(0, len(order), size) for i in sorted(order[s : s + size], key=lambda i: -lengths[i])
            ]
    batches = [order[s : s + batch_size] for s in range(0, len(order), batch_size)]
    if group_by_length and shuffle_seed is not None:
        rng.shuffle(batches)
    return batches


def make_batches(
    ids: list[list[int]],
    labels: list[int],
    batch_size: int,
    pad_id: int,
    left: bool,
    shuffle_seed: int | None = None,
    group_by_length: bool = False,
) -> list[dict[str, torch.Tensor]]:
    return [
        collate([ids[i] for i in idx], [labels[i] for i in idx], pad_id, left)
        for idx in batch_order([len(x) for x in ids], batch_size, shuffle_seed, group_by_length)
    ]


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


@dataclass
class Encoded:
    """One split, tokenized once; batches are cut from it the same way for every method."""

    ids: list[list[int]]
    labels: list[int]
    pad_id: int
    left: bool
    batch_size: int
    seed: int = 0
    group_by_length: bool = True
    references: list[tuple[str, ...]] = field(default_factory=list)  # generation tasks: each prompt's reference outputs

    def batches_for_epoch(self, epoch: int):

        return make_batches(
            self.ids,
            self.labels,
            self.batch_size,
            self.pad_id,
            self.left,
            shuffle_seed=self.seed * 1000 + epoch,
            group_by_length=self.group_by_length,
        )

    def eval_batches(self):

        return make_batches(self.ids, self.labels, self.batch_size, self.pad_id, self.left, group_by_length=True)

    def eval_order(self) -> list[int]:
        """The example index behind each position of eval_batches(), flattened."""

        return [i for b in batch_order([len(x) for x in self.ids], self.batch_size, None, True) for i in b]


def encode_splits(
    splits: dict[str, list[Example]], tok, task: Task, kind: str, budget: Budget, measure: Measure, seed: int
) -> dict[str, Encoded]:
    """Token ids per split. Generation tasks: train rows hold prompt + answer with per-token labels, one row
    per reference (the cap counts inputs); test and validation rows hold the prompt, and every reference is
    kept as text for scoring. Caps: the budget's train and eval examples, the validation examples measured."""

    chat = budget.chat_template
    caps = {
        "train": budget.train_examples,
        "test": budget.eval_examples,
        "validation": measure.validation_examples,
    }
    out = {}
    for name, cap in caps.items():
        examples = splits[name][: cap or None]
        if task.is_generation and name == "train":
            examples = [Example(e.text, e.label, r) for e in examples for r in e.references]
        bsz = budget.batch_size if name == "train" else budget.eval_batch_size
        if task.is_generation:
            ids, labels = encode_generation(
                examples, tok, task, budget.max_length, with_target=name == "train", chat=chat
            )
        else:
            ids, labels = (
                encode(examples, tok, task, kind, budget.max_length, chat=chat),
                [e.label for e in examples],
            )
        out[name] = Encoded(
            ids,
            labels,
            tok.pad_token_id,
            kind == "causal",
            bsz,
            seed,
            budget.group_by_length,
            references=[e.references for e in examples],
        )
    return out

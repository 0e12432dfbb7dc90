"""Micro-benchmarks of the hot paths on a tiny BERT (pytest-benchmark): one forward + backward step
with LoRA and with prompt tuning, built by the suite's own method registry. Few rounds, so they
also run in the normal test suite; compare runs with --benchmark-autosave / --benchmark-compare."""

from __future__ import annotations

import pytest
import torch

from bench.catalog import methods
from bench.measure.train import class_logits
from tests.conftest import tiny_bert_config

BATCH, LENGTH = 8, 24


def build(method: str, overrides: dict):
    from transformers import BertForSequenceClassification

    torch.manual_seed(0)
    model = BertForSequenceClassification(tiny_bert_config())
    m, params = methods.resolve(method, overrides)
    return m.build(model, params, methods.BuildContext(kind="encoder", task_text="review sentiment", tokenizer_path=""))


def batch():
    g = torch.Generator().manual_seed(0)
    return {
        "input_ids": torch.randint(5, 30, (BATCH, LENGTH), generator=g),
        "attention_mask": torch.ones(BATCH, LENGTH, dtype=torch.long),
        "labels": torch.randint(0, 2, (BATCH,), generator=g),
    }


@pytest.fixture()
def one_thread():
    """One core: less noise from the machine's other work; restored for the tests that follow."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize(
    "method, overrides",
    [
        ("lora", {"r": 8}),
        ("prompt_tuning", {"num_virtual_tokens": 8, "init": "random"}),
    ],
    ids=["lora", "prompt_tuning"],
)
def test_forward_backward(benchmark, method, overrides, one_thread):
    model = build(method, overrides).train()
    b = batch()

    def step():
        model.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(class_logits(model, b, "encoder", None), b["labels"])
        loss.backward()
        return loss

    loss = benchmark.pedantic(step, rounds=20, iterations=1, warmup_rounds=3)
    assert torch.isfinite(loss)
    assert any(p.grad is not None for p in model.parameters() if p.requires_grad)

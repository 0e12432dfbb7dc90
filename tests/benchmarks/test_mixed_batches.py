"""Micro-benchmarks of the mixed-task serving paths on a tiny BERT (pytest-benchmark): gathered LoRA
vs PEFT's mixed-adapter batch (8 adapters in a batch of 16), and a mixed soft-prompt batch vs
PEFT's single-prompt batch. The side-by-side ratios on a real model come from
benchmarks/mixed_batch_lora.py; these guard the hot paths against regressions in CI."""

from __future__ import annotations

import pytest
import torch

from bench.switching.strategies import SERVERS
from tests.conftest import VOCAB

N_TASKS, BATCH, LENGTH = 8, 16, 24


@pytest.fixture(scope="module")
def fleet(tiny_bert_dir):
    from transformers import AutoModel

    from bench.switching import fleet as fleets

    f = fleets.build(
        AutoModel.from_pretrained(tiny_bert_dir).eval(), N_TASKS, torch.device("cpu"), rank=4, virtual_tokens=8
    )
    yield f
    f.close()


@pytest.mark.parametrize("strategy", ["base", "peft_mixed_batch", "gathered_lora", "prompt_swap", "mixed_prompt_batch"])
def test_mixed_batch_forward(benchmark, fleet, strategy):
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, len(VOCAB), (BATCH, LENGTH), generator=g)
    tasks = torch.arange(BATCH) % N_TASKS
    server = SERVERS[strategy](fleet)
    if strategy == "prompt_swap":
        server.swap(0)  # one prompt for the whole batch: PEFT's own path

    def forward():
        with torch.inference_mode():
            return server.forward(ids, tasks).last_hidden_state

    out = benchmark.pedantic(forward, rounds=20, iterations=1, warmup_rounds=3)
    extra = fleet.virtual_tokens if "prompt" in strategy else 0
    assert out.shape == (BATCH, LENGTH + extra, 32) and torch.isfinite(out).all()

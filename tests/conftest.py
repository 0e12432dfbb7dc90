"""Tiny models built from a config in memory, a tiny tokenizer, and a tiny learnable task.

Nothing here downloads: the models are random-initialised BERT and Llama configs a few hundred
kB in size, saved to a temporary folder so the real loading path (`from_pretrained`) is used.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

POS = ["good", "great", "fine", "lovely", "superb"]
NEG = ["bad", "awful", "poor", "dull", "terrible"]
FILLER = ["the", "movie", "was", "plot", "and", "acting", "really", "quite", "a", "story", "film", "very"]
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "<eos>"]
VOCAB = SPECIAL + sorted(set(POS + NEG + FILLER + ["review", "sentiment", ":", "positive", "negative"]))


def make_tokenizer(kind: str):
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(VOCAB)}
    tk = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
    if kind == "encoder":
        tk.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])]
        )
        return PreTrainedTokenizerFast(
            tokenizer_object=tk, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]"
        )
    return PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]", pad_token="[PAD]", eos_token="<eos>")


def tiny_bert_config():
    from transformers import BertConfig

    return BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        pad_token_id=0,
        architectures=["BertForSequenceClassification"],
    )


def tiny_llama_config():
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=len(VOCAB),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        pad_token_id=0,
        eos_token_id=4,
        bos_token_id=4,
        tie_word_embeddings=True,
        architectures=["LlamaForCausalLM"],
    )


def save_tiny(folder: Path, model_cls, config, kind: str) -> Path:
    """A randomly initialised tiny model and the tiny tokenizer, saved as a model folder."""
    import torch

    torch.manual_seed(0)
    model_cls(config).save_pretrained(folder)
    make_tokenizer(kind).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> Path:
    from transformers import BertModel

    return save_tiny(tmp_path_factory.mktemp("tiny-bert"), BertModel, tiny_bert_config(), "encoder")


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory) -> Path:
    from transformers import LlamaForCausalLM

    return save_tiny(tmp_path_factory.mktemp("tiny-llama"), LlamaForCausalLM, tiny_llama_config(), "causal")


def write_tiny_task(folder: Path, n: int = 240, name: str = "tiny_sentiment") -> Path:
    rng = random.Random(0)
    rows = []
    for i in range(n):
        label = i % 2
        words = rng.sample(FILLER, 5) + [rng.choice(POS if label else NEG)]
        rng.shuffle(words)
        rows.append(
            {"sentence": " ".join(words) + f" {FILLER[i % len(FILLER)]}" * (i % 3), "y": "pos" if label else "neg"}
        )
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{name}.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["sentence", "y"])
        w.writeheader()
        w.writerows(rows)
    (folder / f"{name}.yaml").write_text(f"""\
name: {name}
version: 1
description: review sentiment
source: {{path: {name}.csv, format: csv, dedupe: false}}
text_field: sentence
label_field: y
label_map: {{neg: negative, pos: positive}}
labels: [negative, positive]
label_words: [" negative", " positive"]
prompt: "review : {{text}} sentiment :"
size: {n}
split: {{seed: 7, train: 0.6, validation: 0.1, test: 0.3}}
""")
    return folder / f"{name}.yaml"


def write_tiny_generation_task(folder: Path, n: int = 200, name: str = "tiny_gen") -> Path:
    """The same sentences; the answer is generated: the word `positive` or `negative`."""
    write_tiny_task(folder, n, name + "_data")
    (folder / f"{name}.yaml").write_text(f"""\
name: {name}
version: 1
type: generation
source: {{path: {name}_data.csv, format: csv, dedupe: false}}
text_field: sentence
label_field: y
label_map: {{neg: negative, pos: positive}}
prompt: "review : {{text}} sentiment :"
metric: exact_match
max_new_tokens: 3
size: {n}
split: {{seed: 7, train: 0.6, validation: 0.1, test: 0.3}}
""")
    (folder / f"{name}_data.yaml").unlink()
    return folder / f"{name}.yaml"


@pytest.fixture()
def tiny_task(tmp_path) -> Path:
    return write_tiny_task(tmp_path / "tasks")


@pytest.fixture()
def tiny_shape(tmp_path, monkeypatch):
    """A shape-only model named `tiny` (Llama layout, hidden 32, 3 layers, vocabulary 64) beside the real ones,
    from a folder named by ADAPTER_BENCH_SHAPES (as a user adds a shape; child processes see it too)."""
    from bench.catalog import shapes

    folder = tmp_path / "shapes"
    folder.mkdir()
    real = json.loads((shapes.SHAPES_DIR / "llama-3.2-1b.json").read_text())
    small = {"hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2}
    real["config"].update(small, head_dim=8, vocab_size=64, num_hidden_layers=3, bos_token_id=1, eos_token_id=2)
    (folder / "tiny.json").write_text(json.dumps({"description": "tiny Llama", "config": real["config"]}))
    monkeypatch.setenv(shapes.ENV, str(folder))
    yield "shape:tiny"


CLOSED_INDEX = "http://127.0.0.1:9/simple"  # the discard port: nothing listens, a connection is refused


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Each test gets its own asset cache, so no test reads (or pollutes) the user's, and a package index that
    refuses at once (a closed port here): availability checks (`bench list`, a run's up-front check) ask
    nothing of the network and say "unknown", unless a test sets ADAPTER_BENCH_PIP_ARGS itself."""
    monkeypatch.setenv("ADAPTER_BENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("ADAPTER_BENCH_PIP_ARGS", f"--index-url {CLOSED_INDEX}")


def ok_run_row(**over) -> dict:
    """A hand-built ok LoRA run row on task t (accuracy 0.8 [0.7, 0.9], its own peak 1 GiB over a 256 MiB
    baseline); keyword arguments replace or add fields."""
    return {
        "schema_version": 1,
        "kind": "run",
        "task": "t",
        "method": "lora",
        "status": "ok",
        "accuracy": 0.8,
        "accuracy_ci_low": 0.7,
        "accuracy_ci_high": 0.9,
        "trainable_params": 74498,
        "trainable_pct": 0.33,
        "train_tokens_per_s": 700.0,
        "infer_tokens_per_s": 2000.0,
        "infer_tokens_per_s_batch": 5000.0,
        "peak_mem_bytes": 2**30 + 2**28,
        "mem_baseline_bytes": 2**28,
        "peak_mem_own_bytes": 2**30,
    } | over


def is_run_process(proc) -> bool:
    """A suite's run process (a psutil.Process): spawned (`spawn_main`), or forked by the fork server (a child of
    the server, whose command line both carry); not multiprocessing's helpers or the server itself."""
    import psutil

    try:  # a child listed a moment ago may have exited (or be a zombie) by the time it is read
        cmd = " ".join(proc.cmdline())
        if "spawn_main" in cmd:
            return True
        parent = proc.parent()
        return "forkserver" in cmd and parent is not None and "forkserver" in " ".join(parent.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):  # ZombieProcess is a NoSuchProcess
        return False

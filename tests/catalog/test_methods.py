"""Trainable parameters match the formulas and peft's own count; methods resolve by name or config."""

from __future__ import annotations

import json

import pytest
import torch

from bench.catalog import methods
from bench.errors import BenchError, Unsupported
from bench.measure.inference import trainable_counts


class OneLayer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(1000, 1000, bias=False)

    def forward(self, x):
        return self.layer(x)


def test_note_example_1000x1000_r10_is_98_percent_fewer():
    from peft import LoraConfig, get_peft_model

    model = get_peft_model(OneLayer(), LoraConfig(r=10, target_modules=["layer"]))
    trainable, total = model.get_nb_trainable_parameters()
    assert trainable == 1000 * 10 + 10 * 1000 == 20_000
    assert total - trainable == 1_000_000
    assert 1 - trainable / 1_000_000 == pytest.approx(0.98)


def _tiny_bert(num_labels=3):
    from transformers import BertForSequenceClassification

    from tests.conftest import tiny_bert_config

    torch.manual_seed(0)
    return BertForSequenceClassification(
        tiny_bert_config().__class__(**{**tiny_bert_config().to_dict(), "num_labels": num_labels})
    )


CTX = methods.BuildContext(kind="encoder", task_text="classify", tokenizer_path="")


def test_lora_count_formula_and_peft_agree():
    method, params = methods.resolve("lora", {"r": "4"})
    model = method.build(_tiny_bert(), params, CTX)
    hidden, layers, labels = 32, 2, 3
    head = hidden * labels + labels  # the classifier trains too (modules_to_save)
    expected = layers * 2 * 4 * (hidden + hidden) + head  # query and value, r x (d_in + d_out)
    assert trainable_counts(model)["trainable_params"] == expected == model.get_nb_trainable_parameters()[0]


def test_prompt_tuning_count_is_virtual_tokens_times_hidden_plus_head():
    method, params = methods.resolve("prompt_tuning", {"num_virtual_tokens": 6, "init": "random"})
    model = method.build(_tiny_bert(), params, CTX)
    assert trainable_counts(model)["trainable_params"] == 6 * 32 + (32 * 3 + 3)


def test_head_only_and_full():
    m, p = methods.resolve("head_only", {})
    model = m.build(_tiny_bert(), p, CTX)
    assert trainable_counts(model)["trainable_params"] == 32 * 3 + 3  # the classifier; backbone (pooler too) frozen
    m, p = methods.resolve("full", {})
    counts = trainable_counts(m.build(_tiny_bert(), p, CTX))
    assert counts["trainable_params"] == counts["total_params"] and counts["trainable_pct"] == 100.0


def test_head_only_unsupported_on_causal():
    m, p = methods.resolve("head_only", {})
    with pytest.raises(Unsupported):
        m.build(torch.nn.Linear(2, 2), p, methods.BuildContext("causal", "", ""))


def test_adapter_config_json_is_a_method(tmp_path):
    cfg = {
        "peft_type": "LORA",
        "task_type": "SEQ_CLS",
        "r": 2,
        "lora_alpha": 4,
        "target_modules": ["query", "key", "value"],
    }
    path = tmp_path / "adapter_config.json"
    path.write_text(json.dumps(cfg))
    method, params = methods.resolve(str(path), {})
    assert params.lr == methods.LoraParams.lr  # LoRA's default rate
    model = method.build(_tiny_bert(), params, CTX)
    assert model.get_nb_trainable_parameters()[0] == 2 * 3 * 2 * (32 + 32) + 32 * 3 + 3
    method, params = methods.resolve(str(tmp_path), {"lr": "0.1"})  # the folder works too
    assert params.lr == 0.1


@pytest.mark.parametrize(
    "content,message",
    [
        ("{not json", "malformed adapter config"),
        ('{"r": 2}', "no peft_type"),
        ('{"peft_type": "NOPE"}', "malformed adapter config"),
    ],
)
def test_bad_adapter_config(content, message, tmp_path):
    path = tmp_path / "adapter_config.json"
    path.write_text(content)
    with pytest.raises(BenchError, match=message):
        methods.resolve(str(path), {})


def test_unknown_method_and_param():
    with pytest.raises(BenchError, match="unknown method 'lorra'; valid methods: dora, full, head_only, ia3, lora"):
        methods.resolve("lorra", {})
    with pytest.raises(BenchError, match="params.lora.r: expected an integer"):
        methods.resolve("lora", {"r": "eight"})


@pytest.mark.parametrize(
    "name,expected",
    [
        ("dora", 2 * 2 * 8 * (32 + 32) + 2 * 2 * 32 + (32 * 3 + 3)),  # LoRA + one magnitude per output row + head
        # (IA)^3 on BERT: key and value outputs, and the inputs of attention.output.dense (32) and output.dense (64)
        ("ia3", 2 * (32 + 32 + 32 + 64) + (32 * 3 + 3)),
        ("p_tuning", None),
    ],
)
def test_more_peft_methods_count_as_peft_does(name, expected):
    method, params = methods.resolve(name, {})
    model = method.build(_tiny_bert(), params, CTX)
    counts = trainable_counts(model)
    assert counts["trainable_params"] == model.get_nb_trainable_parameters()[0]
    if expected is not None:
        assert counts["trainable_params"] == expected


def test_prefix_tuning_on_an_encoder_without_cache_is_unsupported():
    method, params = methods.resolve("prefix_tuning", {})
    with pytest.raises(Unsupported, match="prefix_tuning on"):
        method.build(_tiny_bert(), params, CTX)


def test_rslora_scales_by_alpha_over_the_root_of_the_rank():
    method, params = methods.resolve("lora", {"r": 4, "alpha": 8, "use_rslora": True})
    model = method.build(_tiny_bert(), params, CTX)
    layer = model.base_model.model.bert.encoder.layer[0].attention.self.query
    assert layer.scaling["default"] == pytest.approx(8 / 2)  # alpha / sqrt(4); plain LoRA: alpha / r = 2
    plain = methods.resolve("lora", {"r": 4, "alpha": 8})[0].build(
        _tiny_bert(), methods.resolve("lora", {"r": 4, "alpha": 8})[1], CTX
    )
    assert plain.base_model.model.bert.encoder.layer[0].attention.self.query.scaling["default"] == pytest.approx(2)
    assert trainable_counts(model) == trainable_counts(plain)  # the same weights, another scale

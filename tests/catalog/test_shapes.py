"""Shape-only models: every named config builds (shrunk to tiny widths, 1-2 layers), truncation,
parameter counts of the real shapes from their configs, and `shape:` in model resolution."""

from __future__ import annotations

import pytest
import torch

from bench.catalog import models, shapes
from bench.errors import BenchError

TINY = {"hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 4, "vocab_size": 100}
TINY.update(bos_token_id=None, eos_token_id=None)  # the real ids lie outside a 100-token vocabulary


def tiny(name: str) -> dict:
    kv = 2 if shapes.config_dict(name)["num_key_value_heads"] < shapes.config_dict(name)["num_attention_heads"] else 4
    extra = {"head_dim": 8} if "head_dim" in shapes.config_dict(name) else {}
    return {**TINY, "num_key_value_heads": kv, **extra}


def test_named_shapes_are_written_out():
    assert {"llama-3.2-1b", "llama-3.1-8b", "qwen2.5-0.5b"} <= set(shapes.names())


@pytest.mark.parametrize("name", ["llama-3.2-1b", "llama-3.1-8b", "qwen2.5-0.5b"])
def test_each_shape_builds_at_tiny_depth(name):
    model = shapes.build(name, layers=2, **tiny(name))
    assert len(model.layers) == 2
    arch = shapes.config_dict(name)
    assert (
        model.config.model_type == arch["model_type"]
        and model.config.rope_parameters["rope_theta"] == arch["rope_theta"]
    )
    out = model(input_ids=torch.randint(0, 100, (3, 5))).last_hidden_state
    assert out.shape == (3, 5, 32) and torch.isfinite(out).all()
    lm = shapes.build(name, layers=1, causal_lm=True, **tiny(name))
    assert lm(input_ids=torch.randint(0, 100, (1, 4))).logits.shape == (1, 4, 100)


def test_real_shapes_have_their_published_sizes():
    # backbone parameters (no LM head): 1.24 B, 7.50 B, 0.49 B
    assert abs(shapes.parameter_count("llama-3.2-1b") / 1e9 - 1.236) < 0.01
    assert abs(shapes.parameter_count("llama-3.1-8b") / 1e9 - 7.505) < 0.01
    assert abs(shapes.parameter_count("qwen2.5-0.5b") / 1e9 - 0.494) < 0.01
    c = shapes.config_dict("qwen2.5-0.5b")
    assert (c["hidden_size"], c["num_hidden_layers"], c["num_key_value_heads"], c["vocab_size"]) == (896, 24, 2, 151936)


def test_parameter_count_matches_a_built_model():
    model = shapes.build("qwen2.5-0.5b", layers=1, hidden_size=896, intermediate_size=4864, vocab_size=1000)
    counted = sum(p.numel() for p in model.parameters())
    expected = shapes.parameter_count("qwen2.5-0.5b", 1) - (151936 - 1000) * 896
    assert counted == expected


def test_truncation_and_dtype():
    assert shapes.config_dict("llama-3.1-8b", 3)["num_hidden_layers"] == 3
    assert shapes.config_dict("llama-3.1-8b")["num_hidden_layers"] == 32
    model = shapes.build("llama-3.2-1b", layers=1, dtype="bf16", **tiny("llama-3.2-1b"))
    assert next(model.parameters()).dtype == torch.bfloat16
    with pytest.raises(BenchError, match="only 16 layers"):
        shapes.config_dict("llama-3.2-1b", 17)
    with pytest.raises(BenchError, match="valid dtypes"):
        shapes.torch_dtype("int3")


def test_shape_models_resolve_by_name():
    spec = models.resolve("shape:llama-3.2-1b")
    assert spec.shape == "llama-3.2-1b" and spec.kind == "causal" and models.is_cached(spec)
    with pytest.raises(BenchError, match="valid shapes: llama-3.1-8b, llama-3.2-1b, qwen2.5-0.5b"):
        models.resolve("shape:llama-9")
    with pytest.raises(BenchError, match="shape-only"):
        models.local_path(spec)  # runs that train and score need real weights


def test_a_fleet_on_a_shape_shares_what_nothing_writes():
    from bench.switching import fleet as fleets

    base = shapes.build("llama-3.2-1b", layers=1, **tiny("llama-3.2-1b"))
    f = fleets.build(base, 2, torch.device("cpu"), rank=4, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"])
    try:
        emb = base.get_input_embeddings().weight
        for m in (f.multi, f.single, f.gathered):
            assert m.get_input_embeddings().weight.data_ptr() == emb.data_ptr()
        q = base.layers[0].self_attn.q_proj.weight
        assert f.gathered.layers[0].self_attn.q_proj.base.weight.data_ptr() == q.data_ptr()
        multi_q = f.multi.base_model.model.layers[0].self_attn.q_proj.base_layer.weight
        assert multi_q.data_ptr() != q.data_ptr()  # merge_swap merges into its own copy
    finally:
        f.close()

"""The causal-LM setting on a tiny Llama built in memory: label-word (verbalizer) scoring, greedy
decoding with a KV cache for every PEFT method, generation metrics and tasks, parameter counts. Whole runs on
the tiny Llama are in tests/e2e/test_llm.py."""

from __future__ import annotations

import pytest
import torch

from bench.catalog import methods
from bench.catalog.tasks import Example, load_examples, load_task, parse_task, to_examples
from bench.config import Budget, Measure
from bench.errors import BenchError
from bench.measure import evaluate
from bench.measure.data import collate, encode_generation, encode_splits
from bench.measure.generate import answer_text, generate_texts, generation_metrics, greedy
from bench.measure.inference import trainable_counts
from bench.measure.train import class_logits
from tests.conftest import make_tokenizer, tiny_llama_config, write_tiny_generation_task

CTX = methods.BuildContext(kind="causal", task_text="review sentiment", tokenizer_path="")
PEFT_METHODS = ("lora", "dora", "ia3", "prefix_tuning", "prompt_tuning", "p_tuning")


def _llama():
    from transformers import LlamaForCausalLM

    torch.manual_seed(0)
    return LlamaForCausalLM(tiny_llama_config()).eval()


def _built(name: str, scale: float = 0.5):
    """The method on a tiny Llama, its trainable weights randomised so the adapter changes the output."""
    method, params = methods.resolve(name, {"init": "random"} if name == "prompt_tuning" else {})
    model = method.build(_llama(), params, CTX)
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.normal_(0, scale)
    cfg = getattr(model, "peft_config", {}).get("default")
    virtual = cfg.num_virtual_tokens if cfg is not None and cfg.is_prompt_learning else 0
    return model.eval(), virtual


# ----------------------------------------------------------------------------- verbalizer scoring


def test_label_word_logits_are_the_last_real_tokens_next_token_logits_under_left_padding():
    tok = make_tokenizer("causal")
    model = _llama()
    texts = ["review : good movie sentiment :", "review : the plot was dull and the acting awful sentiment :"]
    ids = [tok(t)["input_ids"] for t in texts]
    label_ids = [tok.encode(w, add_special_tokens=False)[0] for w in (" negative", " positive")]
    batch = collate(ids, [0, 1], tok.pad_token_id, left=True)
    assert batch["attention_mask"][0, 0] == 0  # the short row really is padded
    with torch.no_grad():
        got = class_logits(model, batch, "causal", label_ids)
        for i, row in enumerate(ids):
            alone = model(input_ids=torch.tensor([row])).logits[0, -1, label_ids]
            torch.testing.assert_close(got[i], alone, rtol=1e-4, atol=1e-5)
    assert got.shape == (2, 2)


# ----------------------------------------------------------------------------- greedy decoding


def _recomputed(model, prompts, n):
    """Reference greedy decoding: the whole sequence re-run through the (PEFT) model at every step."""
    out = []
    with torch.no_grad():
        for p in prompts:
            cur = torch.tensor([p])
            for _ in range(n):
                nxt = model(input_ids=cur, attention_mask=torch.ones_like(cur)).logits[:, -1].argmax(-1, keepdim=True)
                cur = torch.cat([cur, nxt], 1)
            out.append(cur[0, len(p) :].tolist())
    return out


@pytest.mark.parametrize("name", ("full",) + PEFT_METHODS)
def test_cached_batched_greedy_equals_recomputed_greedy(name):
    """The KV-cache loop on a left-padded batch gives each prompt's own greedy continuation, for every
    method: soft prompts and prefixes enter once and are kept in the cache (model.generate() in
    peft 0.21 + transformers 5.24 drops prefix tuning's prefix; this loop must not)."""
    tok = make_tokenizer("causal")
    model, virtual = _built(name) if name != "full" else (_llama(), 0)
    prompts = [
        tok(t)["input_ids"] for t in ("review : good", "the film was dull and really quite a story sentiment :", "a")
    ]
    with torch.no_grad():
        got = greedy(
            model,
            collate(prompts, [0] * 3, tok.pad_token_id, True),
            max_new_tokens=6,
            eos_id=-1,
            pad_id=tok.pad_token_id,
            virtual_tokens=virtual,
            stop_at_eos=False,
        )
    assert got.tolist() == _recomputed(model, prompts, 6)


@pytest.mark.parametrize("name", PEFT_METHODS)
def test_adapters_change_the_next_token_logits(name):
    """Guards the check above: with an adapter that did nothing, equality would prove nothing."""
    tok = make_tokenizer("causal")
    ids = torch.tensor([tok("the film was dull sentiment :")["input_ids"]])
    model, _ = _built(name)
    with torch.no_grad():
        adapted = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[0, -1]
        base = _llama()(input_ids=ids).logits[0, -1]
    assert (adapted - base).abs().max() > 1e-3


def test_fixed_length_ignores_eos_and_scoring_stops_at_it():
    tok = make_tokenizer("causal")
    model = _llama()
    prompt = [tok("review : good movie")["input_ids"]]
    batch = collate(prompt, [0], tok.pad_token_id, True)
    with torch.no_grad():
        first = greedy(model, batch, max_new_tokens=1, eos_id=-1, pad_id=0, stop_at_eos=False)[0, 0].item()
        fixed = greedy(model, batch, max_new_tokens=5, eos_id=first, pad_id=0, stop_at_eos=False)
        stopped = greedy(model, batch, max_new_tokens=5, eos_id=first, pad_id=0, stop_at_eos=True)
    assert fixed.shape == (1, 5)
    assert stopped.tolist() == [[first]]  # the "EOS" was generated first: nothing after it


def test_generate_texts_keeps_prompt_order_and_cuts_at_eos():
    tok = make_tokenizer("causal")
    model = _llama()
    prompts = [tok(t)["input_ids"] for t in ("a b c d e f g", "review", "the movie was")]
    texts = generate_texts(model, tok, prompts, max_new_tokens=4, batch_size=2, device=torch.device("cpu"))
    for p, t in zip(prompts, texts):
        alone = generate_texts(model, tok, [p], max_new_tokens=4, batch_size=1, device=torch.device("cpu"))
        assert t == alone[0]
        assert "<eos>" not in t


def test_generation_clocks_count_fixed_output_tokens():
    tok = make_tokenizer("causal")
    model, virtual = _built("prompt_tuning")
    prompts = [tok(t)["input_ids"] for t in ("review : good", "the film was dull")]
    m = Measure(gen_new_tokens=5, gen_requests=3, gen_repeats=2, gen_warmup=1, infer_batch_size=4)
    out = generation_metrics(
        model, prompts, pad_id=0, eos_id=tok.eos_token_id, device=torch.device("cpu"), measure=m, virtual_tokens=virtual
    )
    assert len(out["gen_ttft_ms_samples"]) == 3 and len(out["gen_batch_ms_samples"]) == 2
    assert out["gen_ttft_ms_p50"] > 0 and out["gen_tpot_ms_p50"] > 0
    assert out["gen_extra_tokens_per_request"] == virtual == 20  # virtual tokens: reported, not counted as output
    # output tokens/s counts the fixed 5 output tokens per request, batch N counts 4 requests per call
    assert out["gen_tokens_per_s_batch"] == pytest.approx(
        4 * 5 / (sorted(out["gen_batch_ms_samples"])[0] / 1000), rel=1
    )


# ----------------------------------------------------------------------------- metrics


def test_answer_text_takes_the_first_line_or_the_regex_match():
    assert answer_text("  109\nWhat is 2 plus 2?") == "109"
    assert answer_text(" The answer is 109.", r"[-+]?\d+") == "109"
    assert answer_text("no number", r"\d+") == ""


def test_exact_match_rouge_and_bleu_on_known_strings():
    assert evaluate.exact_match([" 109", "12", ""], ["109", "13", "0"]) == [1, 0, 0]
    r = evaluate.rouge_l(["the cat sat", "a b"], ["the cat sat on the mat", "a b"])
    assert r[0] == pytest.approx(2 * 1.0 * 0.5 / 1.5)  # precision 3/3, recall 3/6
    assert r[1] == pytest.approx(1.0)
    assert evaluate.rouge_l(["x y"], ["a b"]) == [0.0]
    assert evaluate.bleu(["the cat sat on the mat"], ["the cat sat on the mat"]) == pytest.approx(100.0)
    assert evaluate.bleu(["completely different words here"], ["the cat sat on the mat"]) < 5


def test_several_references_score_against_the_best_one():
    refs = [["the cat sat on the mat", "a cat is on the mat"], ["a dog runs"]]
    assert evaluate.exact_match(["a cat is on the mat", "a dog"], refs) == [1, 0]
    assert evaluate.rouge_l(["a cat is on the mat"], [refs[0]]) == [pytest.approx(1.0)]
    assert evaluate.rouge_l(["a cat is on the mat"], [refs[0][0]])[0] < 1.0
    preds = ["a cat is on the mat", "a dog runs"]
    one = evaluate.bleu(preds, [r[0] for r in refs])
    both = evaluate.bleu(preds, refs)  # the second example has one reference: its missing second is None
    assert both == pytest.approx(100.0) and one < 80
    assert evaluate.bleu(preds, [[r] for r in preds]) == evaluate.bleu(preds, preds)


def test_repeated_inputs_of_a_generation_task_become_one_example_with_every_reference(tmp_path):
    task = parse_task(_gen_task(text_field="x"), tmp_path / "g.yaml")
    records = [{"x": "p", "y": "one"}, {"x": "q", "y": "solo"}, {"x": "p", "y": "two"}, {"x": "p", "y": "one"}]
    ex = to_examples(task, records)
    assert ex == [Example("p", -1, "one", ("one", "two")), Example("q", -1, "solo")]
    assert [e.references for e in ex] == [("one", "two"), ("solo",)]


def test_references_survive_the_example_cache(tmp_path):
    folder = tmp_path / "tasks"
    folder.mkdir()
    (folder / "d.csv").write_text("x,y\np,one\nq,solo\np,two\n")
    (folder / "g.yaml").write_text(
        "name: g\nversion: 1\ntype: generation\ntext_field: x\nlabel_field: y\n"
        "source: {path: d.csv, format: csv}\nsize: 2\n"
    )
    task = load_task(str(folder / "g.yaml"))
    first, cached = load_examples(task), load_examples(task)
    assert first == cached and cached[0].references == ("one", "two")


def test_training_rows_are_one_per_reference_and_scoring_keeps_them_all():
    tok = make_tokenizer("causal")
    task = parse_task(_gen_task(text_field="x", prompt="{text} :"), "g.yaml")
    splits = {
        "train": [Example("the movie", -1, "good", ("good", "fine")), Example("the film", -1, "bad")],
        "validation": [Example("a story", -1, "ok")],
        "test": [Example("a plot", -1, "dull", ("dull", "slow", "long"))],
    }
    enc = encode_splits(splits, tok, task, "causal", Budget(batch_size=2), Measure(), seed=0)
    assert len(enc["train"].ids) == 3 and enc["train"].references == [("good",), ("fine",), ("bad",)]
    assert len(enc["test"].ids) == 1 and enc["test"].references == [("dull", "slow", "long")]


# ----------------------------------------------------------------------------- tasks and encoding


def _gen_task(**extra) -> dict:
    base = {"name": "g", "version": 1, "type": "generation", "source": {"path": "x.csv"}, "label_field": "y"}
    return {**base, **extra}


@pytest.mark.parametrize(
    "extra,message",
    [
        ({"metric": "accuracy"}, "valid generation metrics: bleu, exact_match, rougeL"),
        ({"labels": ["a", "b"]}, "not labels or label_words"),
        ({"max_new_tokens": 0}, "max_new_tokens must be a whole number"),
        ({"answer_regex": "(["}, "answer_regex"),
        ({"type": "regression"}, "valid types: classification, generation"),
    ],
)
def test_malformed_generation_tasks(tmp_path, extra, message):
    with pytest.raises(BenchError, match=message.replace("(", r"\(").replace("[", r"\[")):
        parse_task(_gen_task(**extra), tmp_path / "g.yaml")


def test_classification_task_rejects_generation_keys(tmp_path):
    data = {"name": "c", "version": 1, "labels": ["a", "b"], "source": {"path": "x.csv"}, "max_new_tokens": 4}
    with pytest.raises(BenchError, match="are for type: generation"):
        parse_task(data, tmp_path / "c.yaml")


def test_generation_task_loads_targets(tmp_path):
    task = load_task(str(write_tiny_generation_task(tmp_path / "tasks", n=40)))
    examples = load_examples(task)
    assert task.is_generation and task.metric == "exact_match" and task.labels == ()
    assert {e.target for e in examples} == {"positive", "negative"} and {e.label for e in examples} == {-1}


def test_encode_generation_masks_the_prompt_and_keeps_the_answer():
    tok = make_tokenizer("causal")
    task = parse_task(
        {
            "name": "g",
            "version": 1,
            "type": "generation",
            "source": {"path": "x"},
            "prompt": "review : {text} sentiment :",
        },
        "g.yaml",
    )
    ex = [Example("the movie was really quite a good story film", -1, "positive")]
    ids, labels = encode_generation(ex, tok, task, max_length=64, with_target=True)
    answer = tok(" positive", add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    assert ids[0][-len(answer) :] == answer and labels[0][-len(answer) :] == answer
    assert all(x == -100 for x in labels[0][: -len(answer)])
    short, short_labels = encode_generation(ex, tok, task, max_length=6, with_target=True)
    assert len(short[0]) == 6 and short[0][-len(answer) :] == answer  # the prompt is cut, from the left
    assert tok.decode(short[0][: 6 - len(answer)]).endswith(":")
    prompt, _ = encode_generation(ex, tok, task, max_length=64, with_target=False)
    assert prompt[0] == ids[0][: -len(answer)]


# ----------------------------------------------------------------------------- parameter counts


@pytest.mark.parametrize(
    "name,expected",
    [
        # q_proj 32 -> 32 and v_proj 32 -> 16 (2 key-value heads of 8), r = 8, 2 layers; the LM head is shared
        ("lora", 2 * (8 * (32 + 32) + 8 * (32 + 16))),
        ("dora", 2 * (8 * (32 + 32) + 8 * (32 + 16)) + 2 * (32 + 16)),  # + one magnitude per output row
        ("ia3", 2 * (16 + 16 + 64)),  # k_proj and v_proj outputs, down_proj's 64 inputs
        ("prompt_tuning", 20 * 32),
        ("prefix_tuning", None),
        ("p_tuning", None),
    ],
)
def test_causal_parameter_counts_match_peft(name, expected):
    method, params = methods.resolve(name, {"init": "random"} if name == "prompt_tuning" else {})
    model = method.build(_llama(), params, CTX)
    counts = trainable_counts(model)
    assert counts["trainable_params"] == model.get_nb_trainable_parameters()[0]
    if expected is not None:
        assert counts["trainable_params"] == expected


def test_prefix_projection_adds_the_reparameterisation_mlp():
    method, plain = methods.resolve("prefix_tuning", {})
    _, projected = methods.resolve("prefix_tuning", {"projection": "true"})
    a, b = method.build(_llama(), plain, CTX), method.build(_llama(), projected, CTX)
    assert b.peft_config["default"].prefix_projection and not a.peft_config["default"].prefix_projection
    assert trainable_counts(a)["trainable_params"] == 20 * 2 * 2 * 16  # tokens x layers x (key, value) x kv width

"""Chat-template prompts for instruction-tuned causal LMs (budget.chat_template): the prompt as one user
turn, truncation that keeps the template's own parts, chat label words, and whole runs on a tiny Llama
(ok) and a tiny BERT (unsupported)."""

from __future__ import annotations

import pytest

from bench.catalog.tasks import Example, parse_task
from bench.config import Budget, Measure
from bench.errors import BenchError, Unsupported
from bench.execute.run import RunSpec, execute
from bench.measure.data import encode, encode_generation, prompt_texts
from tests.conftest import make_tokenizer, write_tiny_task

CHAT = "{% for m in messages %}review : {{ m['content'] }}{% endfor %}{% if add_generation_prompt %} sentiment :{% endif %}"


def test_chat_template_wraps_the_prompt_as_a_user_turn():
    tok = make_tokenizer("causal")
    task = parse_task(
        {"name": "g", "version": 1, "type": "generation", "source": {"path": "x"}, "prompt": "the {text}"}, "g.yaml"
    )
    ex = [Example("movie was good", -1, "positive")]
    with pytest.raises(Unsupported, match="no chat template"):
        encode_generation(ex, tok, task, max_length=64, with_target=True, chat=True)
    tok.chat_template = CHAT
    assert prompt_texts(ex, tok, task, chat=True) == ["review : the movie was good sentiment :"]
    assert prompt_texts(ex, tok, task) == ["the movie was good"]
    ids, labels = encode_generation(ex, tok, task, max_length=64, with_target=True, chat=True)
    assert tok.decode(ids[0]) == "review : the movie was good sentiment : positive <eos>"
    assert labels[0][:-2] == [-100] * (len(ids[0]) - 2)  # the loss is on the answer and EOS only
    assert (
        task.answer_for("positive", chat=True) == "positive" and task.answer_for("positive", chat=False) == " positive"
    )
    cls = parse_task(
        {"name": "c", "version": 1, "labels": ["negative", "positive"], "source": {"path": "x"}, "prompt": "{text}"},
        "c.yaml",
    )
    assert tok.decode(encode(ex, tok, cls, "causal", 64, chat=True)[0]) == "review : movie was good sentiment :"


def test_a_long_chat_turn_loses_the_users_text_not_the_templates_parts():
    tok = make_tokenizer("causal")
    tok.chat_template = "the plot : " + CHAT  # a system turn ("the plot :") before the user's
    cls = parse_task(
        {"name": "c", "version": 1, "labels": ["negative", "positive"], "source": {"path": "x"}, "prompt": "{text}"},
        "c.yaml",
    )
    gen = parse_task(
        {"name": "g", "version": 1, "type": "generation", "source": {"path": "x"}, "prompt": "{text}"}, "g.yaml"
    )
    ex = [Example("the movie was really quite a good story film", 0, "positive")]
    whole = tok.decode(encode(ex, tok, cls, "causal", 64, chat=True)[0])
    assert whole == "the plot : review : the movie was really quite a good story film sentiment :"
    cut = encode(ex, tok, cls, "causal", 12, chat=True)[0]  # 7 template tokens + the text's last 5
    assert len(cut) == 12 and tok.decode(cut) == "the plot : review : quite a good story film sentiment :"
    ids, labels = encode_generation(ex, tok, gen, max_length=12, with_target=True, chat=True)
    assert tok.decode(ids[0]) == "the plot : review : good story film sentiment : positive <eos>"
    assert labels[0][-2:] == ids[0][-2:] and labels[0][:-2] == [-100] * 10
    tiny = encode(ex, tok, cls, "causal", 5, chat=True)[0]  # the template alone does not fit: cut from the left
    assert tok.decode(tiny) == "good story film sentiment :"


def test_chat_label_words_replace_the_label_words_in_a_chat_turn(tmp_path):
    from bench.execute.run import _label_token_ids

    tok = make_tokenizer("causal")
    data = {
        "name": "c",
        "version": 1,
        "labels": ["negative", "positive"],
        "source": {"path": "x"},
        "label_words": [" negative", " positive"],
    }
    plain, chat = parse_task(data, "c.yaml"), parse_task({**data, "chat_label_words": ["bad", "good"]}, "c.yaml")
    word_ids = lambda *ws: [tok.convert_tokens_to_ids(w) for w in ws]  # noqa: E731
    assert _label_token_ids(tok, chat) == _label_token_ids(tok, plain) == word_ids("negative", "positive")
    assert _label_token_ids(tok, plain, chat=True) == word_ids("negative", "positive")  # the space dropped
    assert _label_token_ids(tok, chat, chat=True) == word_ids("bad", "good")
    with pytest.raises(BenchError, match="1 chat_label_words for 2 labels"):
        parse_task({**data, "chat_label_words": ["bad"]}, tmp_path / "c.yaml")
    with pytest.raises(BenchError, match="chat_label_words must be a list of non-empty strings"):
        parse_task({**data, "chat_label_words": ["bad", " "]}, tmp_path / "c.yaml")


def test_chat_template_runs_on_a_causal_lm_and_is_unsupported_on_an_encoder(tmp_path, tiny_llama_dir, tiny_bert_dir):
    import shutil

    from transformers import AutoTokenizer

    chat_dir = shutil.copytree(tiny_llama_dir, tmp_path / "chat-llama")  # the session's model stays as it is
    tok = AutoTokenizer.from_pretrained(chat_dir)
    tok.chat_template = CHAT
    tok.save_pretrained(chat_dir)
    task = write_tiny_task(tmp_path / "tasks", n=60)
    for model, status in ((chat_dir, "ok"), (tiny_bert_dir, "unsupported")):
        spec = RunSpec(
            suite="t",
            task="tiny_sentiment",
            task_path=str(task),
            model=str(model),
            method="lora",
            seed=0,
            device="cpu",
            budget=Budget(max_steps=2, batch_size=8, chat_template=True),
            measure=Measure(latency_requests=2, infer_repeats=1, infer_batch_size=4),
            show_progress=False,
        )
        row = execute(spec)
        assert row["status"] == status, row["error"]
        assert row["budget"]["chat_template"] is True
    assert "needs a causal LM" in row["error"]

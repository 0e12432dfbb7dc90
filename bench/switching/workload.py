"""Request streams for switching benchmarks (pure functions, seeded)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from bench.options import LENGTHS


@dataclass(frozen=True)
class Workload:
    n_tasks: int
    n_requests: int
    batch_size: int
    popularity: str = "uniform"
    order: str = "shuffled"
    length: str = "short"
    seed: int = 0

    @property
    def tokens_per_request(self) -> int:
        return LENGTHS[self.length]


def popularity_weights(n_tasks: int, popularity: str, alpha: float = 1.0) -> list[float]:
    """Each task's share of requests (unnormalised): equal (uniform) or 1/rank^alpha (Zipf)."""
    if popularity == "uniform":
        return [1.0] * n_tasks
    if popularity == "zipf":
        return [1.0 / (k + 1) ** alpha for k in range(n_tasks)]
    raise ValueError(f"unknown popularity {popularity!r}")


def task_counts(n_tasks: int, n_requests: int, popularity: str) -> list[int]:
    """Requests per task: equal shares (uniform) or proportional to 1/rank (Zipf, alpha = 1).
    Largest-remainder rounding, so the counts always sum to n_requests."""
    weights = popularity_weights(n_tasks, popularity)
    total = sum(weights)
    exact = [n_requests * w / total for w in weights]
    counts = [int(x) for x in exact]
    for k in sorted(range(n_tasks), key=lambda k: exact[k] - counts[k], reverse=True)[: n_requests - sum(counts)]:
        counts[k] += 1
    return counts


def task_sequence(w: Workload) -> list[int]:
    """The task of each request, in arrival order: grouped (all of task 0, then task 1, ...) or shuffled."""
    seq = [t for t, c in enumerate(task_counts(w.n_tasks, w.n_requests, w.popularity)) for _ in range(c)]
    if w.order == "shuffled":
        random.Random(w.seed).shuffle(seq)
    elif w.order != "grouped":
        raise ValueError(f"unknown order {w.order!r}")
    return seq


def homogeneous_batches(tasks: list[int], batch_size: int) -> list[tuple[int, list[int]]]:
    """For one-adapter-at-a-time serving: consecutive requests of one task, at most batch_size each.
    Returns (task, request indices) in arrival order."""
    out: list[tuple[int, list[int]]] = []
    for i, t in enumerate(tasks):
        if out and out[-1][0] == t and len(out[-1][1]) < batch_size:
            out[-1][1].append(i)
        else:
            out.append((t, [i]))
    return out


def mixed_batches(tasks: list[int], batch_size: int) -> list[list[int]]:
    """For mixed-task serving: consecutive requests whatever their task."""
    return [list(range(s, min(s + batch_size, len(tasks)))) for s in range(0, len(tasks), batch_size)]


def switches(tasks: list[int], batch_size: int) -> int:
    """How many adapter loads one-adapter-at-a-time serving makes (the first one included)."""
    batches = homogeneous_batches(tasks, batch_size)
    return (1 if batches else 0) + sum(1 for a, b in zip(batches, batches[1:]) if a[0] != b[0])

"""Batching policies and the serving loop (pure): one loop drives both the simulated clock and the
wall clock, so the simulation and the real-time run batch exactly alike.

- Mixed strategies (`base`, `peft_mixed_batch`, `gathered_lora`, `mixed_prompt_batch`) take the
  oldest waiting requests, whatever their tasks, up to `max_batch`.
- One-adapter-at-a-time strategies take the task of the oldest waiting request and batch that
  task's waiting requests (oldest first, up to `max_batch`); a swap precedes a change of task.

A batch starts when it is full, or once its oldest request has waited `max_wait_s` (0: at once).
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Policy:
    mixed: bool
    max_batch: int = 32
    max_wait_s: float = 0.0


class Clock(Protocol):
    def now(self) -> float: ...

    def wait_until(self, t: float) -> None: ...

    def serve(self, batch: list[int], task: int | None, swap: bool) -> None: ...


class Queue:
    """Waiting requests in arrival order and, for one-at-a-time policies, per task."""

    def __init__(self, tasks: np.ndarray, mixed: bool):
        self.tasks, self.mixed = tasks, mixed
        self.order: deque[int] = deque()
        self.by_task: dict[int, deque[int]] = defaultdict(deque)
        self.taken: set[int] = set()  # served but still in `order` (dropped lazily)
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def push(self, i: int) -> None:
        self.order.append(i)
        if not self.mixed:
            self.by_task[int(self.tasks[i])].append(i)
        self.size += 1

    def head(self) -> int:
        while self.order[0] in self.taken:
            self.taken.discard(self.order.popleft())
        return self.order[0]

    def eligible(self, head: int) -> int:
        return self.size if self.mixed else len(self.by_task[int(self.tasks[head])])

    def take(self, head: int, limit: int) -> list[int]:
        if self.mixed:
            batch = [self.order.popleft() for _ in range(min(limit, len(self.order)))]
        else:
            pending = self.by_task[int(self.tasks[head])]
            batch = [pending.popleft() for _ in range(min(limit, len(pending)))]
            self.taken.update(batch)
        self.size -= len(batch)
        return batch


@dataclass
class Finished:
    finish: np.ndarray  # seconds, per request
    batches: list[tuple[float, int, bool]] = field(default_factory=list)  # (start, size, swapped)


def serve_stream(arrivals: np.ndarray, tasks: np.ndarray, policy: Policy, clock: Clock) -> Finished:
    """Serve every request of the stream (arrival times in seconds, ascending) on one server."""
    n = len(arrivals)
    out = Finished(np.full(n, math.nan))
    queue = Queue(tasks, policy.mixed)
    nxt, done, current = 0, 0, None
    while done < n:
        now = clock.now()
        while nxt < n and arrivals[nxt] <= now:
            queue.push(nxt)
            nxt += 1
        if not queue:
            clock.wait_until(float(arrivals[nxt]))
            continue
        head = queue.head()
        deadline = float(arrivals[head]) + policy.max_wait_s
        if queue.eligible(head) < policy.max_batch and now < deadline:
            clock.wait_until(min(deadline, float(arrivals[nxt]) if nxt < n else math.inf))
            continue
        batch = queue.take(head, policy.max_batch)
        task = None if policy.mixed else int(tasks[head])
        swap = task is not None and task != current
        if task is not None:
            current = task
        clock.serve(batch, task, swap)
        out.finish[batch] = clock.now()
        out.batches.append((now, len(batch), swap))
        done += len(batch)
    return out

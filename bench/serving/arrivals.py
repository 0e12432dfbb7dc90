"""Request streams (pure, seeded): arrival times from a Poisson or Gamma process at `rate` requests
per second, and each request's task drawn from a Zipf or uniform popularity.

Gamma gaps have shape 1/cv^2 and scale cv^2/rate (S-LoRA's workload; cv = 1 is Poisson). The gaps
are drawn once at rate 1 and divided by the rate, so streams at different rates share their
randomness (common random numbers: a rate search compares like with like).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.switching.workload import popularity_weights


@dataclass(frozen=True)
class Stream:
    unit_gaps: np.ndarray  # seconds between arrivals at rate 1 (mean 1)
    tasks: np.ndarray  # task of each request

    def arrivals(self, rate: float) -> np.ndarray:
        """Arrival times in seconds at `rate` requests per second; the first request comes at 0."""
        gaps = self.unit_gaps / rate
        return np.concatenate([[0.0], np.cumsum(gaps[1:])])

    def head(self, n: int) -> Stream:
        return Stream(self.unit_gaps[:n], self.tasks[:n])


def stream(
    n_requests: int,
    n_tasks: int,
    process: str = "poisson",
    cv: float = 1.0,
    popularity: str = "zipf",
    alpha: float = 1.0,
    seed: int = 0,
) -> Stream:
    rng = np.random.default_rng(seed)
    if process == "poisson":
        gaps = rng.exponential(1.0, n_requests)
    elif process == "gamma":
        shape = 1.0 / cv**2
        gaps = rng.gamma(shape, 1.0 / shape, n_requests)
    else:
        raise ValueError(f"unknown arrival process {process!r}")
    weights = np.asarray(popularity_weights(n_tasks, popularity, alpha))
    tasks = rng.choice(n_tasks, size=n_requests, p=weights / weights.sum())
    return Stream(gaps, tasks.astype(np.int64))

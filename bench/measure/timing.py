"""Timers done right: CUDA events + synchronize on GPU, perf_counter_ns on CPU; warm-up is the
caller's (it discards samples), samples are kept raw, summaries are medians and percentiles."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch


class Timer:
    """Collects one duration per `with timer:` block, in milliseconds."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"
        self._pending: list = []
        self._samples: list[float] = []

    def __enter__(self):
        if self.cuda:
            self._start = torch.cuda.Event(enable_timing=True)
            self._start.record()
        else:
            self._t0 = time.perf_counter_ns()
        return self

    def __exit__(self, *exc):
        if self.cuda:
            end = torch.cuda.Event(enable_timing=True)
            end.record()
            self._pending.append((self._start, end))  # resolved later: no sync inside the loop
        else:
            self._samples.append((time.perf_counter_ns() - self._t0) / 1e6)
        return False

    @property
    def samples_ms(self) -> list[float]:
        if self._pending:
            torch.cuda.synchronize()
            self._samples += [s.elapsed_time(e) for s, e in self._pending]
            self._pending = []
        return list(self._samples)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: torch.device) -> float:
    """One call of `fn` in milliseconds: the wall clock between device synchronisations (GPU work included)."""
    sync(device)
    t0 = time.perf_counter_ns()
    fn()
    sync(device)
    return (time.perf_counter_ns() - t0) / 1e6


def summarize(samples_ms: list[float]) -> dict[str, float | None]:
    """Median, IQR, p95 of raw samples (pure)."""
    if not samples_ms:
        return {"p50": None, "iqr": None, "p95": None}
    a = np.asarray(samples_ms, dtype=float)
    q25, q50, q75, q95 = np.percentile(a, [25, 50, 75, 95])
    return {"p50": float(q50), "iqr": float(q75 - q25), "p95": float(q95)}

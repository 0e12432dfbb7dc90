"""The discrete-event simulation (pure): service times come from a profile of the real model, time
advances from event to event, and latency is queueing plus service."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.serving.policy import Finished, Policy, serve_stream


@dataclass(frozen=True)
class ServiceModel:
    """Profiled service times: batch_ms[batch size][distinct adapters] (ms), and one swap (ms).
    Between measured points times are interpolated linearly; a batch of b rows with d distinct
    adapters is read at d' = min(d, b') at each measured size b'."""

    batch_ms: dict[int, dict[int, float]]
    swap_ms: float = 0.0

    def batch_time_ms(self, size: int, distinct: int) -> float:
        sizes = sorted(self.batch_ms)
        at_sizes = []
        for b in sizes:
            ds = sorted(self.batch_ms[b])
            at_sizes.append(float(np.interp(min(distinct, b), ds, [self.batch_ms[b][d] for d in ds])))
        return float(np.interp(size, sizes, at_sizes))

    def capacity_rps(self, max_batch: int, n_tasks: int) -> float:
        """Requests per second with every batch full and no swaps: an upper bound on any sustainable rate."""
        return max_batch / (self.batch_time_ms(max_batch, min(max_batch, n_tasks)) / 1000)


class SimClock:
    def __init__(self, service: ServiceModel, tasks: np.ndarray):
        self.service, self.tasks, self.t = service, tasks, 0.0
        self.cache: dict[tuple[int, int], float] = {}  # (size, distinct) -> ms: interpolate each point once

    def now(self) -> float:
        return self.t

    def wait_until(self, t: float) -> None:
        self.t = max(self.t, t)

    def serve(self, batch: list[int], task: int | None, swap: bool) -> None:
        distinct = 1 if task is not None else len(set(self.tasks[batch].tolist()))
        key = (len(batch), distinct)
        if key not in self.cache:
            self.cache[key] = self.service.batch_time_ms(*key)
        ms = self.cache[key] + (self.service.swap_ms if swap else 0.0)
        self.t += ms / 1000


def simulate(arrivals: np.ndarray, tasks: np.ndarray, policy: Policy, service: ServiceModel) -> Finished:
    return serve_stream(arrivals, tasks, policy, SimClock(service, tasks))


@dataclass(frozen=True)
class Summary:
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    throughput_rps: float  # requests completed per second, first arrival to last completion
    slo_attainment: float  # fraction of requests within the SLO
    requests: int

    def meets(self, slo_ms: float) -> bool:
        return self.p99_ms <= slo_ms


def summarize(arrivals: np.ndarray, finish: np.ndarray, slo_ms: float) -> Summary:
    latency = (finish - arrivals) * 1000
    p50, p95, p99 = np.percentile(latency, [50, 95, 99])
    span = float(np.max(finish) - arrivals[0])
    return Summary(
        p50_ms=float(p50),
        p95_ms=float(p95),
        p99_ms=float(p99),
        mean_ms=float(latency.mean()),
        throughput_rps=len(arrivals) / span if span > 0 else float("inf"),
        slo_attainment=float(np.mean(latency <= slo_ms)),
        requests=len(arrivals),
    )

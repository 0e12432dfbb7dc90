"""The wall clock: the serving loop of policy.py run for real on a strategy's server. Requests
arrive on schedule whatever the server is doing (an open loop), so a request's latency is its
completion time minus its scheduled arrival: queueing plus service, as in the simulation."""

from __future__ import annotations

import time

import numpy as np
import torch

from bench.measure.timing import sync
from bench.serving.policy import Finished, Policy, serve_stream
from bench.serving.simulate import ServiceModel
from bench.switching.strategies import Server


class WallClock:
    def __init__(self, server: Server, inputs: torch.Tensor, tasks: np.ndarray):
        self.server, self.inputs = server, inputs
        self.tasks = torch.as_tensor(tasks, device=inputs.device)
        self.np_tasks = tasks
        self.log: list[tuple[int, int, float, float]] = []  # per batch: size, distinct adapters, batch ms, swap ms
        self.t0 = time.perf_counter()

    def now(self) -> float:
        return time.perf_counter() - self.t0

    def wait_until(self, t: float) -> None:
        delay = t - self.now()
        if delay > 0:
            time.sleep(delay)

    def serve(self, batch: list[int], task: int | None, swap: bool) -> None:
        t0 = time.perf_counter()
        if swap:
            self.server.swap(task)
            sync(self.inputs.device)
        t1 = time.perf_counter()
        sel = torch.tensor(batch, device=self.inputs.device)
        self.server.forward(self.inputs.index_select(0, sel), self.tasks.index_select(0, sel))
        sync(self.inputs.device)
        distinct = 1 if task is not None else len(set(self.np_tasks[batch].tolist()))
        self.log.append((len(batch), distinct, (time.perf_counter() - t1) * 1000, (t1 - t0) * 1000 if swap else -1.0))


@torch.inference_mode()
def run(
    server: Server, inputs: torch.Tensor, arrivals: np.ndarray, tasks: np.ndarray, policy: Policy
) -> tuple[Finished, list[tuple[int, int, float, float]]]:
    """Serve the stream in real time -> (what was served, per batch: size, distinct, batch ms, swap ms or -1).
    inputs: [n_requests, tokens] token ids on the server's device."""
    server.prepare()
    clock = WallClock(server, inputs, tasks)
    try:
        return serve_stream(arrivals, tasks, policy, clock), clock.log
    finally:
        server.finish()


def drift(service: ServiceModel, log: list[tuple[int, int, float, float]]) -> tuple[float, float]:
    """How much slower (> 1) or faster the real run's batches and swaps were than the profile said:
    medians of measured / profiled time (1.0 where there is nothing to compare)."""
    batch = [ms / service.batch_time_ms(size, d) for size, d, ms, _ in log]
    swap = [s / service.swap_ms for *_, s in log if s >= 0 and service.swap_ms > 0]
    return (float(np.median(batch)) if batch else 1.0, float(np.median(swap)) if swap else 1.0)


def scaled(service: ServiceModel, batch_factor: float, swap_factor: float) -> ServiceModel:
    """The profile with every batch time and the swap time scaled (a drift-corrected model)."""
    table = {b: {d: ms * batch_factor for d, ms in per.items()} for b, per in service.batch_ms.items()}
    return ServiceModel(table, service.swap_ms * swap_factor)

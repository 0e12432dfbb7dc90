"""The wall clock: the serving loop of policy.py run for real on a strategy's server. Requests
arrive on schedule whatever the server is doing (an open loop), so a request's latency is its
completion time minus its scheduled arrival: queueing plus service, as in the simulation."""

from __future__ import annotations

import time

import numpy as np
import torch

from bench.serving.policy import Policy, Served, serve_stream
from bench.switching.strategies import Server, _sync


class WallClock:
    def __init__(self, server: Server, inputs: torch.Tensor, tasks: np.ndarray):
        self.server, self.inputs = server, inputs
        self.tasks = torch.as_tensor(tasks, device=inputs.device)
        self.t0 = time.perf_counter()

    def now(self) -> float:
        return time.perf_counter() - self.t0

    def wait_until(self, t: float) -> None:
        delay = t - self.now()
        if delay > 0:
            time.sleep(delay)

    def serve(self, batch: list[int], task: int | None, swap: bool) -> None:
        if swap:
            self.server.swap(task)
        sel = torch.tensor(batch, device=self.inputs.device)
        self.server.forward(self.inputs.index_select(0, sel), self.tasks.index_select(0, sel))
        _sync(self.inputs.device)


@torch.inference_mode()
def run(server: Server, inputs: torch.Tensor, arrivals: np.ndarray, tasks: np.ndarray, policy: Policy) -> Served:
    """Serve the stream in real time. inputs: [n_requests, tokens] token ids on the server's device."""
    server.prepare()
    try:
        return serve_stream(arrivals, tasks, policy, WallClock(server, inputs, tasks))
    finally:
        server.finish()

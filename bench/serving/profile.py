"""Service times measured on the real model, for the simulation: each strategy's batch time over a
grid of batch sizes x distinct adapters in the batch, and (one adapter at a time) its swap time.

Strategies are measured in interleaved rounds (every strategy once per round, warm-up rounds
discarded), so noise on a shared machine hits them alike; each point keeps its median.
"""

from __future__ import annotations

import statistics

import torch

from bench.measure.timing import timed
from bench.options import ProfileConfig
from bench.serving.simulate import ServiceModel
from bench.switching.strategies import Server


def grid(mixed_adapters: bool, cfg: ProfileConfig, n_tasks: int) -> list[tuple[int, int]]:
    """(batch size, distinct adapters) points to measure; one point per size unless the strategy
    mixes adapters in a batch (its cost may depend on how many)."""
    if not mixed_adapters:
        return [(b, 1) for b in sorted(set(cfg.batch_sizes))]
    return sorted({(b, max(1, min(d, b, n_tasks))) for b in cfg.batch_sizes for d in cfg.distinct})


def row_tasks(size: int, distinct: int, n_tasks: int, device) -> torch.Tensor:
    """Task of each row: `distinct` adapters spread over the fleet, in turn."""
    step = max(1, n_tasks // distinct)
    return ((torch.arange(size) % distinct) * step).to(device)


@torch.inference_mode()
def profile(
    servers: dict[str, Server],
    inputs: torch.Tensor,
    n_tasks: int,
    cfg: ProfileConfig,
    progress=None,
    failed: dict[str, Exception] | None = None,
) -> dict[str, dict]:
    """strategy -> {"service": ServiceModel, "samples": {"b,d": [ms...]}, "swap_samples": [ms...]}.
    inputs: [max batch, tokens] token ids on the fleet's device. With `failed`, a strategy that raises is left
    out from then on (strategy -> its exception there) and the others are profiled; without, it raises."""
    device = inputs.device
    dropped = {} if failed is None else failed
    points = {s: grid(srv.mixed and s != "base", cfg, n_tasks) for s, srv in servers.items()}
    samples: dict[str, dict[tuple[int, int], list[float]]] = {s: {p: [] for p in points[s]} for s in servers}
    swaps: dict[str, list[float]] = {s: [] for s in servers}

    def each(work) -> None:
        for s, server in servers.items():
            if s in dropped:
                continue
            server.prepare()
            try:
                if not server.mixed:
                    server.swap(0)
                work(s, server)
            except Exception as e:  # noqa: BLE001 - with `failed`: one strategy's failure, the others go on
                if failed is None:
                    raise
                dropped[s] = e
            finally:
                server.finish()

    # first calls pay one-time costs (allocation, kernel choice)
    each(lambda s, server: server.forward(inputs[:1], row_tasks(1, 1, n_tasks, device)))
    for round_ in range(cfg.warmup + cfg.repeats):
        keep = round_ >= cfg.warmup

        def timed_round(s, server, round_=round_, keep=keep):
            for b, d in points[s]:
                ids, tasks = inputs[:b], row_tasks(b, d, n_tasks, device)
                ms = timed(lambda ids=ids, tasks=tasks: server.forward(ids, tasks), device)
                if keep:
                    samples[s][(b, d)].append(ms)
            if not server.mixed and n_tasks > 1:
                for k in range(cfg.swaps):
                    task = 1 + (round_ * cfg.swaps + k) % (n_tasks - 1)
                    ms = timed(lambda task=task: server.swap(task), device)
                    if keep:
                        swaps[s].append(ms)
            if progress is not None:
                progress(s)

        each(timed_round)
    out = {}
    for s in servers:
        if s in dropped:
            continue
        table: dict[int, dict[int, float]] = {}
        for (b, d), xs in samples[s].items():
            table.setdefault(b, {})[d] = statistics.median(xs)
        swap_ms = statistics.median(swaps[s]) if swaps[s] else 0.0
        out[s] = {
            "service": ServiceModel(table, swap_ms),
            "samples": {f"{b},{d}": xs for (b, d), xs in samples[s].items()},
            "swap_samples": swaps[s],
        }
    return out

"""The highest request rate that still meets the SLO (pure): bisection on a simulation that is
monotone in the rate in expectation, with the arrival stream's randomness shared across rates."""

from __future__ import annotations

from collections.abc import Callable

from bench.serving.arrivals import Stream
from bench.serving.policy import Policy
from bench.serving.simulate import ServiceModel, Summary, simulate, summarize


def highest_rate(meets: Callable[[float], bool], start: float, steps: int = 14, max_doublings: int = 12) -> float:
    """The highest rate r with meets(r), to start / 2^steps: `start` is doubled while it still meets
    the target, then the bracket is halved `steps` times. 0.0 when even start / 2^steps fails."""
    lo, hi = 0.0, start
    for _ in range(max_doublings):
        if not meets(hi):
            break
        lo, hi = hi, hi * 2
    else:
        return lo
    for _ in range(steps):
        mid = (lo + hi) / 2
        if meets(mid):
            lo = mid
        else:
            hi = mid
    return lo


def at_rate(stream: Stream, rate: float, policy: Policy, service: ServiceModel, slo_ms: float) -> Summary:
    arrivals = stream.arrivals(rate)
    return summarize(arrivals, simulate(arrivals, stream.tasks, policy, service).finish, slo_ms)


def rate_at_slo(stream: Stream, policy: Policy, service: ServiceModel, slo_ms: float, n_tasks: int) -> float:
    """Requests per second at which the simulated p99 latency is still within slo_ms."""
    start = service.capacity_rps(policy.max_batch, n_tasks)
    return highest_rate(lambda r: at_rate(stream, r, policy, service, slo_ms).meets(slo_ms), start)

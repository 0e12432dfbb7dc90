"""The machine's state a row records (I/O): the 1-minute load average, the number of CPUs, the CPU's clock
where Linux shows it, and a probe of the base model's speed that serve and switch sweeps take again and again
to see how far the machine's speed drifted. What counts as too loaded or too drifted: bench/analysis/machine.py."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path


def load_1m() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def cpus() -> int:
    """The CPUs this process may run on (its affinity), else every CPU the system has."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cpu_mhz() -> float | None:
    """The mean current clock of the CPUs in MHz (cpufreq, else /proc/cpuinfo); None where neither shows it."""
    freqs = []
    for f in Path("/sys/devices/system/cpu").glob("cpu[0-9]*/cpufreq/scaling_cur_freq"):
        try:
            freqs.append(int(f.read_text()) / 1000)
        except (OSError, ValueError):
            pass
    if not freqs:
        try:
            freqs = [
                float(line.split(":", 1)[1])
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("cpu MHz")
            ]
        except (OSError, ValueError):
            freqs = []
    return round(statistics.mean(freqs), 1) if freqs else None


def at_start() -> dict:
    """The fields a row records before its measurement: load, CPUs, clock."""
    return {"load_1m_start": load_1m(), "cpus": cpus(), "cpu_mhz": cpu_mhz()}


def at_end() -> dict:
    return {"load_1m_end": load_1m()}


class SpeedProbe:
    """Times a fixed piece of the base model's work whenever asked; drift_pct() is how much slower the slowest
    probe so far was than the fastest (0: steady). Each probe is the median of `repeats` calls of `fn`, which
    must finish its work before it returns (synchronise a GPU)."""

    def __init__(self, repeats: int = 3):
        self.repeats = repeats
        self.ms: list[float] = []

    def measure(self, fn: Callable[[], object]) -> float:
        times = []
        for _ in range(self.repeats):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1000)
        self.ms.append(statistics.median(times))
        return self.ms[-1]

    def drift_pct(self) -> float | None:
        return round(100 * (max(self.ms) / min(self.ms) - 1), 2) if len(self.ms) > 1 and min(self.ms) > 0 else None

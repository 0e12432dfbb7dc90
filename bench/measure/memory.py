"""Peak memory of one run: CUDA max allocated on GPU; the peak resident memory of the run's process on CPU.

Runs execute in their own child process by default, so the CPU peak belongs to one run. On Linux the peak
(VmHWM) is also reset at the start of a run (clear_refs), which keeps in-process runs apart as far as the
allocator allows. Sizes are bytes on every system: psutil's resident set size, and the peak where each system
keeps it (VmHWM on Linux, the peak working set on Windows, ru_maxrss elsewhere: bytes on macOS, KiB on the BSDs).
"""

from __future__ import annotations

import sys

import psutil
import torch


def current_rss_bytes() -> int:
    return int(psutil.Process().memory_info().rss)


def _linux_peak_bytes() -> int | None:
    """VmHWM from /proc/self/status (the peak clear_refs resets); None where there is no /proc."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    return None


def process_peak_bytes() -> int:
    """The process's peak resident memory in bytes (at least what it holds now)."""
    peak = _linux_peak_bytes()
    if peak is not None:
        return peak
    peak = getattr(psutil.Process().memory_info(), "peak_wset", None)  # Windows
    if peak is None:
        try:
            import resource  # POSIX only
        except ImportError:
            peak = 0
        else:
            maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            peak = maxrss if sys.platform == "darwin" else maxrss * 1024  # bytes on macOS, KiB on Linux and BSD
    return max(int(peak), current_rss_bytes())


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        return
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS
    except OSError:
        pass


def peak_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    return process_peak_bytes()

"""Peak memory of one run: CUDA max allocated on GPU; peak RSS (VmHWM) of the run's process on CPU.

Runs execute in their own child process by default, so the CPU peak belongs to one run. The
peak is also reset at the start of a run (Linux clear_refs), which keeps in-process runs apart
as far as the allocator allows.
"""

from __future__ import annotations

import resource

import torch


def current_rss_bytes() -> int:
    return _status_kb("VmRSS") * 1024


def _status_kb(key: str) -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux


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
    return _status_kb("VmHWM") * 1024

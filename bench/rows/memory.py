"""What a row's memory means (pure). `peak_mem_bytes` is what the device shows: on CPU the whole process's peak
resident memory (Python, torch and every library included: about 400 MiB before any model), on CUDA the
allocator's peak (tensors only). The run's own peak takes away what was resident before the model was built
(`mem_baseline_bytes`, 0 on CUDA), so CPU and GPU runs, and runs in one process or many, mean the same thing.
Rows record it as `peak_mem_own_bytes`; for rows written before that it is derived here the same way.

Sizes read in binary units everywhere: KiB, MiB, GiB (2^10, 2^20, 2^30 bytes)."""

from __future__ import annotations

OWN_PEAK = "peak_mem_own_bytes"
UNITS = (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10))


def own_peak(row: dict) -> int | None:
    """The run's own peak in bytes: recorded, else peak_mem_bytes - mem_baseline_bytes; None when neither is known."""
    if isinstance(row.get(OWN_PEAK), int):
        return row[OWN_PEAK]
    peak, baseline = row.get("peak_mem_bytes"), row.get("mem_baseline_bytes")
    if not isinstance(peak, int) or not isinstance(baseline, int):
        return None
    return max(0, peak - baseline)


def own_peak_source(row: dict) -> str:
    """How own_peak(row) was found: "recorded", "derived" (peak - baseline) or "unknown"."""
    if isinstance(row.get(OWN_PEAK), int):
        return "recorded"
    return "derived" if own_peak(row) is not None else "unknown"


def fmt_bytes(n) -> str:
    """1.5 GiB, 412.3 MiB, 12.0 KiB, 512 B; "-" for none."""
    if n is None:
        return "-"
    for unit, div in UNITS:
        if abs(n) >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n:.0f} B"

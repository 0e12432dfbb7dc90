"""How metric values read in tables: counts (1.2M), bytes (3.4 MB), whole rates and MiB for the terminal."""

from __future__ import annotations


def fmt_count(n) -> str:
    if n is None:
        return "-"
    for unit, div in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.2f}{unit}"
    return f"{n:.0f}"


def fmt_bytes(n) -> str:
    if n is None:
        return "-"
    for unit, div in (("GB", 2**30), ("MB", 2**20), ("kB", 2**10)):
        if abs(n) >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n:.0f} B"


def whole(v) -> str:  # terminal: a rate rounded to a whole number, "-" when not measured (0)
    return f"{v:.0f}" if v else "-"


def mib(v) -> str:  # terminal: bytes as whole MiB, "-" when not measured (0)
    return f"{v / 2**20:.0f}" if v else "-"

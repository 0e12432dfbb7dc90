"""Result rows: their schema, the append-only store, and per-machine baselines."""

from bench.rows.frame import load_frame

__all__ = ["load_frame"]

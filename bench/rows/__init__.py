"""Result rows: their schema, the append-only store, and per-machine baselines."""

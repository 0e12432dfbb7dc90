"""Serve rows grouped by fleet (pure): which rows are the same experiment but for one setting (the number
of tasks, the rank, the model's width), and which fleet stands for a set of serve runs. The report's scaling
panels and the claims' evidence under load read them."""

from __future__ import annotations

from bench.serving import STRATEGIES

# what makes two serve rows the same experiment, the strategy aside
SETTING = ("model", "layers", "dtype", "hidden_size", "rank", "n_tasks", "targets", "popularity", "arrivals")
SETTING += ("cv", "tokens_per_request", "max_batch", "max_wait_ms")


def serve_rows(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r.get("kind") == "serve" and r.get("status") == "ok"]


def strategies(rows: list[dict]) -> list[str]:
    """The strategies in the rows, in STRATEGIES order (unknown ones last)."""
    seen = {r["strategy"] for r in rows}
    return [s for s in STRATEGIES if s in seen] + sorted(seen - set(STRATEGIES))


def fleet_key(row: dict) -> tuple:
    return tuple(str(row.get(k)) for k in SETTING)


def widest_group(rows: list[dict], vary: str) -> tuple[list[dict], dict]:
    """The rows equal in every setting but `vary` whose `vary` takes the most distinct values (ties: the most
    rows, then the first seen), and the settings they hold fixed. ([], {}) when no group has two values."""
    fixed = [k for k in SETTING if k != vary and not (vary == "hidden_size" and k == "model")]  # a model per width
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(str(r.get(k)) for k in fixed), []).append(r)
    best = max(groups.values(), key=lambda g: (len({g_r.get(vary) for g_r in g}), len(g)), default=[])
    if len({r.get(vary) for r in best}) < 2:
        return [], {}
    return best, {k: best[0].get(k) for k in fixed}


def reference_fleet(rows: list[dict]) -> tuple[list[dict], dict]:
    """The rows of one fleet (every setting equal but the strategy) that stands for them all: the one with the
    most strategies, preferring N = 64 and rank 16 (the defaults), then the first seen."""
    fleets: dict[tuple, list[dict]] = {}
    for r in rows:
        fleets.setdefault(fleet_key(r), []).append(r)
    if not fleets:
        return [], {}
    best = max(
        fleets.values(), key=lambda g: (len({r["strategy"] for r in g}), g[0]["n_tasks"] == 64, g[0]["rank"] == 16)
    )
    return best, {k: best[0].get(k) for k in SETTING}

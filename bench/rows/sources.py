"""Rows of several results files reported together (pure): one list, each row once, each tagged with the file
it came from, so rows of different files are never taken for the same experiment's."""

from __future__ import annotations


def combine(named: list[tuple[str, list[dict]]]) -> list[dict]:
    """The rows of every (name, rows) in order, a run id seen before left out (the first file's row is kept).
    With more than one file, each row carries `source`: the name of its file."""
    seen: set = set()
    out = []
    for name, rows in named:
        for r in rows:
            rid = r.get("run_id")
            if rid is not None and rid in seen:
                continue
            seen.add(rid)
            out.append({**r, "source": name} if len(named) > 1 else r)
    return out

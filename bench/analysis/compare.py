"""Regression verdicts: a baseline's rows against a current run's, metric by metric (pure).

The rows are matched here; each metric's verdict, and the rule behind it, is bench/analysis/gate.py's.
Marks, as in asv: `+` worse, `-` better, `~` within noise, `!` newly failing, `x` incomparable, `?` a timing
judged by its factor alone (too few samples for the U test to reach the gate's level).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict

from bench.analysis.gate import (
    ALPHA,
    BETTER,
    BY_FACTOR,
    FACTOR_ONLY,
    FAILING,
    INCOMPARABLE,
    LEGEND,
    MARKS,
    NOISE,
    WORSE,
    Verdict,
    accuracy_verdict,
    exact_verdict,
    factor_verdict,
    lost_values,
    size_verdict,
    status_verdict,
    timing_verdict,
)
from bench.errors import BenchError
from bench.execute.identity import key_fields, match_key
from bench.rows import kinds, schema

__all__ = ["ALPHA", "BETTER", "FACTOR_ONLY", "FAILING", "INCOMPARABLE", "NOISE", "WORSE", "Verdict", "compare"]
__all__ += ["accuracy_verdict", "exact_verdict", "factor_verdict", "size_verdict", "status_verdict", "timing_verdict"]

DEFAULT_FACTOR = {"cpu": 1.25, "cuda": 1.10}  # CPU timings on shared machines swing more than GPU ones

# A metric's category (bench/rows/schema.py) decides who may fail CI: "status", "params" and "accuracy" always
# count; "timing" and "memory" can be made advisory (shared machines are noisy).
NOISY = ("timing", "memory")
ONLY_IN_BASELINE = "only in baseline"


# ----------------------------------------------------------------------------- matching


def differing_key(baseline_rows: list[dict], current_rows: list[dict]) -> str:
    """Why nothing matched, in one line: where the closest pair of rows differs (the first part of match_key
    they disagree on; a budget or the method parameters key by key)."""
    pairs = [(b, c) for b in baseline_rows for c in current_rows]
    b, c = max(pairs, key=lambda p: _shared_parts(match_key(p[0]), match_key(p[1])))
    diffs = _differences(b, c)
    head = "nothing comparable: no current row matches a baseline row"
    if not diffs:
        return head
    first = [d for d in diffs if d[3] == diffs[0][3]]
    if first[0][0] != first[0][3]:  # sub-keys: budget.epochs (2 vs 1)
        return f"{head}; baseline vs current: {', '.join(f'{n} ({x} vs {y})' for n, x, y, _ in first)}"
    name, x, y, _ = first[0]
    return f"{head}; {name} differs (baseline {x}, current {y})"


def _shared_parts(ka: tuple, kb: tuple) -> int:
    return sum(x == y for x, y in zip(ka, kb)) - 99 * (len(ka) != len(kb))


def describe(row: dict) -> str:
    """A row's name in compare's table: its kind's label (bench/rows/kinds.py)."""
    return kinds.label(row)


def check_schema(baseline: list[dict], current: list[dict]) -> None:
    for name, rows in (("baseline", baseline), ("current", current)):
        if not rows:
            raise BenchError(f"{name} has no result rows")
    versions = {r.get("schema_version") for r in baseline + current}
    if len(versions) > 1:
        raise BenchError(
            f"mixed schema versions {sorted(versions, key=str)}: rows of different schemas are not comparable"
        )


def compare_rows(base_row: dict, cur_row: dict, factor: float, alpha: float = ALPHA) -> list[Verdict]:
    run = describe(cur_row)
    digests = base_row.get("task_digest"), cur_row.get("task_digest")
    if all(digests) and digests[0] != digests[1]:  # the same task name and version, other data or definition
        return [
            Verdict(
                run, "task", INCOMPARABLE, *digests, note="the task's definition or data changed", test="task digest"
            )
        ]
    status = status_verdict(run, base_row, cur_row)
    if status is not None:
        return [status]
    out = []
    for m in schema.metrics(verdict="exact"):
        if base_row.get(m.name) is not None or cur_row.get(m.name) is not None:
            out.append(exact_verdict(run, m.name, base_row.get(m.name), cur_row.get(m.name)))
    for m in schema.metrics(verdict="size"):
        if base_row.get(m.name) is not None:
            out.append(size_verdict(run, m.name, base_row[m.name], cur_row.get(m.name)))
    for m in schema.metrics(verdict="interval"):
        # `score` is the task's own metric: judged apart from accuracy only when it is another one (e.g. ROUGE-L)
        if m.name == "score" and base_row.get("metric") in (None, "accuracy", "exact_match"):
            continue
        if base_row.get(m.name) is not None:
            out.append(accuracy_verdict(run, base_row, cur_row, metric=m.name, alpha=alpha))
    for m in schema.metrics(verdict="timing"):
        if base_row.get(m.name) is not None:
            out.append(timing_verdict(run, m.name, base_row, cur_row, factor, alpha))
    for m in schema.metrics(verdict="factor"):
        if base_row.get(m.name) is not None:
            out.append(factor_verdict(run, m.name, base_row[m.name], cur_row.get(m.name), factor))
    return lost_values(out, cur_row)


def default_factor(rows: list[dict]) -> float:
    kinds = {(r.get("env") or {}).get("device_kind", "cpu") for r in rows}
    return max(DEFAULT_FACTOR.get(k, DEFAULT_FACTOR["cpu"]) for k in kinds)


def check_levels(factor: float | None, alpha: float) -> None:
    """--factor at least 1, --alpha between 0 and 1 (both exclusive of nonsense: NaN is refused)."""
    if factor is not None and not factor >= 1:
        raise BenchError(f"--factor must be a number of at least 1 (a slowdown factor, e.g. 1.25), got {factor}")
    if not 0 < alpha < 1:
        raise BenchError(f"--alpha must be a number between 0 and 1 (the gate's level, e.g. 0.01), got {alpha}")


def compare(
    baseline_rows: list[dict], current_rows: list[dict], factor: float | None = None, alpha: float = ALPHA
) -> list[Verdict]:
    """Every matched pair's verdicts, then the rows found on one side only (`x`)."""
    check_schema(baseline_rows, current_rows)
    check_levels(factor, alpha)
    base = {match_key(r): r for r in baseline_rows}  # a repeated key: the last row wins (append-only files)
    cur = {match_key(r): r for r in current_rows}
    pairs = [(base[k], row) for k, row in cur.items() if k in base]
    only_base = [row for k, row in base.items() if k not in cur]
    only_cur = [row for k, row in cur.items() if k not in base]
    pairs += _pair_failed(only_base, only_cur)
    out = []
    for b, row in pairs:
        f = factor if factor is not None else default_factor([b])
        out.extend(compare_rows(b, row, f, alpha))
    out += [
        Verdict(
            describe(r),
            "-",
            INCOMPARABLE,
            note="only in current (no matching baseline row)" + _differ(r, only_base),
            test="matching",
        )
        for r in only_cur
    ]
    out += [
        Verdict(describe(r), "-", INCOMPARABLE, note=ONLY_IN_BASELINE + _differ(r, only_cur), test="matching")
        for r in only_base
    ]
    return out


def differing_keys(a: dict, b: dict) -> list[str]:
    """The identity keys two rows disagree on: budget and method parameters key by key (budget.epochs)."""
    return [name for name, *_ in _differences(a, b)]


def _differences(a: dict, b: dict) -> list[tuple[str, object, object, str]]:
    """(key, a's value, b's value, the part of match_key it belongs to) for each key two rows disagree on,
    over both rows' key fields (a shape-only model's layers and dtype among them, named by their options:
    model.layers); a budget and the method parameters are compared key by key."""
    ka, kb = match_key(a), match_key(b)
    fa, fb = key_fields(a), key_fields(b)
    va, vb = dict(zip(fa, ka[3:])), dict(zip(fb, kb[3:]))
    null = json.dumps(None)
    parts = [(p, x, y) for p, x, y in zip(("kind", "schema_version", "env.device_kind"), ka, kb)]
    parts += [
        (f, json.loads(va.get(f, null)), json.loads(vb.get(f, null))) for f in (*fa, *(f for f in fb if f not in fa))
    ]
    out = []
    for field, x, y in parts:
        if x == y:
            continue
        part = (kinds.of(a) or kinds.RUN).key_names.get(field, field)
        if isinstance(x, dict) and isinstance(y, dict):
            out += [(f"{part}.{k}", x.get(k), y.get(k), part) for k in sorted({*x, *y}) if x.get(k) != y.get(k)]
        else:
            out.append((part, x, y, part))
    return out


def _differ(row: dict, others: list[dict]) -> str:
    """'; differs from the baseline's run of the same task, method and seed in: budget.epochs' or ''."""
    loose = ("kind", "task", "model", "method", "seed", "strategy", "n_tasks")
    same = [o for o in others if all(o.get(k) == row.get(k) for k in loose)]
    if len(same) != 1:
        return ""
    keys = differing_keys(row, same[0])
    return f"; the other side's run of the same task, method and seed differs in: {', '.join(keys)}" if keys else ""


def _pair_failed(only_base: list[dict], only_cur: list[dict]) -> list[tuple[dict, dict]]:
    """A run that died early never recorded its method params, task version or environment: pair it with
    the one baseline row of the same task, model, method and seed, so it shows as newly failing (`!`).
    Moves paired rows out of both lists."""
    loose = ("kind", "schema_version", "task", "model", "method", "seed", "strategy", "n_tasks")
    pairs = []
    for row in [r for r in only_cur if r.get("status") != "ok"]:
        same = [b for b in only_base if all(b.get(k) == row.get(k) for k in loose)]
        if len(same) == 1:
            pairs.append((same[0], row))
            only_base.remove(same[0])
            only_cur.remove(row)
    return pairs


def advisory_categories(text: str) -> tuple[str, ...]:
    """`--advisory timing,memory` -> the categories reported but not failing; an unknown one is refused."""
    advisory = tuple(a.strip() for a in text.split(",") if a.strip())
    unknown = set(advisory) - set(NOISY)
    if unknown:
        raise BenchError(f"--advisory: unknown categories {', '.join(sorted(unknown))}; valid: {', '.join(NOISY)}")
    return advisory


def exit_code(verdicts: list[Verdict], advisory: tuple[str, ...] = (), fail_missing: bool = False) -> int:
    """1 when any regression counts (categories in `advisory` are reported but do not count), or with
    `fail_missing` when a baseline run has no current row."""
    missing = fail_missing and any(v.note.startswith(ONLY_IN_BASELINE) for v in verdicts)
    return int(missing or any(v.regression and v.category not in advisory for v in verdicts))


def compared_any(verdicts: list[Verdict]) -> bool:
    """Whether at least one baseline row was paired with a current row."""
    return any(v.metric != "-" for v in verdicts)


# ----------------------------------------------------------------------------- output


def counts(verdicts: list[Verdict]) -> dict[str, int]:
    """Verdicts per mark, and (under BY_FACTOR) how many timings were judged by their factor alone."""
    return {m: sum(v.mark == m for v in verdicts) for m in MARKS} | {BY_FACTOR: sum(v.factor_only for v in verdicts)}


NAMES = dict(zip(MARKS, ("worse", "failing", "better", "noise", "factor_only", "incomparable"))) | {
    BY_FACTOR: "judged_by_factor_alone"
}


def verdict_doc(v: Verdict, advisory: tuple[str, ...] = ()) -> dict:
    """A verdict's fields, category and whether it counts, for JSON (a non-finite number is null)."""
    fix = lambda x: None if isinstance(x, float) and not math.isfinite(x) else x
    return {**{k: fix(x) for k, x in asdict(v).items()}, "category": v.category, "regression": v.regression} | {
        "advisory": v.regression and v.category in advisory
    }


def to_json(verdicts: list[Verdict], advisory: tuple[str, ...], totals: dict[str, int], code: int) -> str:
    """{"verdicts": [...], "counts": {...}, "legend": {...}, "exit_code": n}: each verdict's fields (its test and
    the smallest change it could flag among them), category and whether it counts; a non-finite number is null."""
    items = [verdict_doc(v, advisory) for v in verdicts]
    doc = {"verdicts": items, "counts": {NAMES[k]: n for k, n in totals.items()}, "legend": LEGEND, "exit_code": code}
    return json.dumps(doc, indent=2, default=str)

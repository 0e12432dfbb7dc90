"""Regression verdicts: a baseline's rows against a current run's, metric by metric (pure).

Marks, as in asv: `+` worse, `-` better, `~` within noise, `!` newly failing, `x` incomparable.
A timing is worse only when it is slower by more than a factor AND a one-sided Mann-Whitney U test
on the raw samples agrees (p < 0.01): shared machines are noisy, and either test alone flags noise.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

from bench.analysis.markdown import md_cell
from bench.errors import BenchError
from bench.execute.identity import KEYS, RUN_KEY, match_key
from bench.rows import schema

WORSE, BETTER, NOISE, FAILING, INCOMPARABLE = "+", "-", "~", "!", "x"
DEFAULT_FACTOR = {"cpu": 1.25, "cuda": 1.10}  # CPU timings on shared machines swing more than GPU ones
ALPHA = 0.01
SIZE_TOLERANCE = 0.01  # serialized adapters carry a small config whose length varies with versions

# A metric's category (bench/rows/schema.py) decides who may fail CI: "status", "params" and "accuracy" always
# count; "timing" and "memory" can be made advisory (shared machines are noisy).
NOISY = ("timing", "memory")
ONLY_IN_BASELINE = "only in baseline"


@dataclass(frozen=True)
class Verdict:
    run: str  # "task / method [params] seed" or "switch strategy N=..": what was compared
    metric: str
    mark: str
    baseline: float | str | None = None
    current: float | str | None = None
    ratio: float | None = None  # current / baseline
    p_value: float | None = None
    note: str = ""

    @property
    def category(self) -> str:
        return "status" if self.metric == "status" else schema.category(self.metric)

    @property
    def regression(self) -> bool:
        return self.mark in (WORSE, FAILING)


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
    if row.get("kind", "run") == "run":
        params = ", ".join(
            f"{k}={v}"
            for k, v in sorted((row.get("method_params") or {}).items())
            if k in ("r", "num_virtual_tokens", "lr")
        )
        return (
            f"{row.get('task')} / {row.get('method')}" + (f" ({params})" if params else "") + f" seed {row.get('seed')}"
        )
    if row.get("kind") == "serve":
        return f"serve {row.get('strategy')} N={row.get('n_tasks')} r={row.get('rank')} {row.get('model')}"
    return f"switch {row.get('strategy')} N={row.get('n_tasks')} b={row.get('batch_size')} {row.get('popularity')}/{row.get('order')}"


def check_schema(baseline: list[dict], current: list[dict]) -> None:
    for name, rows in (("baseline", baseline), ("current", current)):
        if not rows:
            raise BenchError(f"{name} has no result rows")
    versions = {r.get("schema_version") for r in baseline + current}
    if len(versions) > 1:
        raise BenchError(
            f"mixed schema versions {sorted(versions, key=str)}: rows of different schemas are not comparable"
        )


# ----------------------------------------------------------------------------- verdicts per metric


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def lost_values(verdicts: list[Verdict], cur_row: dict) -> list[Verdict]:
    """A metric the current row holds as null, NaN or infinity where the baseline had a number: worse, never
    within noise (a metric the current row leaves out stays as judged)."""
    return [
        Verdict(v.run, v.metric, WORSE, v.baseline, cur_row[v.metric], note="no finite value now; the baseline had one")
        if _number(v.baseline) and v.metric in cur_row and not _number(cur_row[v.metric])
        else v
        for v in verdicts
    ]


def exact_verdict(run: str, metric: str, base, cur) -> Verdict:
    """Trainable parameters must match exactly: any change means the method trains something else."""
    if base == cur:
        return Verdict(run, metric, NOISE, base, cur, 1.0)
    return Verdict(run, metric, WORSE, base, cur, _ratio(cur, base), note="changed: must match exactly")


def size_verdict(run: str, metric: str, base, cur, tolerance: float = SIZE_TOLERANCE) -> Verdict:
    ratio = _ratio(cur, base)
    if ratio is None or abs(ratio - 1) <= tolerance:
        return Verdict(run, metric, NOISE, base, cur, ratio)
    return Verdict(run, metric, WORSE if ratio > 1 else BETTER, base, cur, ratio)


def accuracy_verdict(run: str, base_row: dict, cur_row: dict, metric: str = "accuracy") -> Verdict:
    """Worse only when the current value falls below the baseline's 95 % interval (better: above it)."""
    base, cur = base_row.get(metric), cur_row.get(metric)
    lo, hi = base_row.get(f"{metric}_ci_low"), base_row.get(f"{metric}_ci_high")
    if base is None or cur is None or lo is None or hi is None:
        return Verdict(run, metric, INCOMPARABLE, base, cur, note="no value or no interval")
    note = f"baseline 95% CI [{lo:.3f}, {hi:.3f}]"
    if cur < lo:
        return Verdict(run, metric, WORSE, base, cur, _ratio(cur, base), note=note)
    if cur > hi:
        return Verdict(run, metric, BETTER, base, cur, _ratio(cur, base), note=note)
    return Verdict(run, metric, NOISE, base, cur, _ratio(cur, base), note=note)


def slowdown(base_samples: list[float], cur_samples: list[float]) -> tuple[float | None, float | None, float | None]:
    """(median ratio current/base, p that current is slower, p that current is faster), one-sided U tests."""
    from scipy.stats import mannwhitneyu

    b = [float(x) for x in base_samples or [] if x is not None]
    c = [float(x) for x in cur_samples or [] if x is not None]
    if not b or not c:
        return None, None, None
    ratio = _median(c) / _median(b) if _median(b) > 0 else None
    p_slower = float(mannwhitneyu(c, b, alternative="greater").pvalue)
    p_faster = float(mannwhitneyu(c, b, alternative="less").pvalue)
    return ratio, p_slower, p_faster


def timing_verdict(
    run: str, metric: str, base_row: dict, cur_row: dict, factor: float, alpha: float = ALPHA
) -> Verdict:
    """Slower by more than `factor` (medians of the raw samples) and a U test at p < alpha: both."""
    samples = schema.metric(metric).samples
    base, cur = base_row.get(metric), cur_row.get(metric)
    ratio, p_slower, p_faster = slowdown(base_row.get(samples), cur_row.get(samples))
    if ratio is None:
        return Verdict(run, metric, INCOMPARABLE, base, cur, note=f"no {samples}")
    if ratio > factor and p_slower < alpha:
        return Verdict(
            run, metric, WORSE, base, cur, ratio, p_slower, f"{ratio:.2f}x slower > {factor}x, p={p_slower:.2g}"
        )
    if ratio < 1 / factor and p_faster < alpha:
        return Verdict(run, metric, BETTER, base, cur, ratio, p_faster, f"{1 / ratio:.2f}x faster, p={p_faster:.2g}")
    p = p_slower if ratio >= 1 else p_faster
    return Verdict(run, metric, NOISE, base, cur, ratio, p, f"{ratio:.2f}x of baseline time, p={p:.2g}")


def factor_verdict(run: str, metric: str, base, cur, factor: float) -> Verdict:
    """One number without samples (peak memory, a rate found by search): worse only beyond the factor, in the
    metric's direction."""
    ratio = _ratio(cur, base)
    if ratio is None:
        return Verdict(run, metric, INCOMPARABLE, base, cur)
    worse, better = (ratio > factor, ratio < 1 / factor)
    if schema.direction(metric) == "higher":
        worse, better = better, worse
    mark = WORSE if worse else BETTER if better else NOISE
    return Verdict(run, metric, mark, base, cur, ratio)


def status_verdict(run: str, base_row: dict, cur_row: dict) -> Verdict | None:
    """None when both ran: the metrics speak. Newly failing is `!`; failing before and now is noise."""
    b, c = base_row.get("status"), cur_row.get("status")
    if b == "ok" and c == "ok":
        return None
    if b == "ok":
        return Verdict(run, "status", FAILING, b, c, note=(cur_row.get("error") or "")[:200])
    if c == "ok":
        return Verdict(run, "status", BETTER, b, c, note="fixed")
    return Verdict(run, "status", NOISE, b, c, note="not ok in both")


def compare_rows(base_row: dict, cur_row: dict, factor: float) -> list[Verdict]:
    run = describe(cur_row)
    digests = base_row.get("task_digest"), cur_row.get("task_digest")
    if all(digests) and digests[0] != digests[1]:  # the same task name and version, other data or definition
        return [Verdict(run, "task", INCOMPARABLE, *digests, note="the task's definition or data changed")]
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
            out.append(accuracy_verdict(run, base_row, cur_row, metric=m.name))
    for m in schema.metrics(verdict="timing"):
        if base_row.get(m.name) is not None:
            out.append(timing_verdict(run, m.name, base_row, cur_row, factor))
    for m in schema.metrics(verdict="factor"):
        if base_row.get(m.name) is not None:
            out.append(factor_verdict(run, m.name, base_row[m.name], cur_row.get(m.name), factor))
    return lost_values(out, cur_row)


def default_factor(rows: list[dict]) -> float:
    kinds = {(r.get("env") or {}).get("device_kind", "cpu") for r in rows}
    return max(DEFAULT_FACTOR.get(k, DEFAULT_FACTOR["cpu"]) for k in kinds)


def compare(baseline_rows: list[dict], current_rows: list[dict], factor: float | None = None) -> list[Verdict]:
    """Every matched pair's verdicts, then the rows found on one side only (`x`)."""
    check_schema(baseline_rows, current_rows)
    if factor is not None and factor < 1:
        raise BenchError(f"--factor must be at least 1, got {factor}")
    base = {match_key(r): r for r in baseline_rows}  # a repeated key: the last row wins (append-only files)
    cur = {match_key(r): r for r in current_rows}
    pairs = [(base[k], row) for k, row in cur.items() if k in base]
    only_base = [row for k, row in base.items() if k not in cur]
    only_cur = [row for k, row in cur.items() if k not in base]
    pairs += _pair_failed(only_base, only_cur)
    out = []
    for b, row in pairs:
        f = factor if factor is not None else default_factor([b])
        out.extend(compare_rows(b, row, f))
    out += [
        Verdict(
            describe(r), "-", INCOMPARABLE, note="only in current (no matching baseline row)" + _differ(r, only_base)
        )
        for r in only_cur
    ]
    out += [Verdict(describe(r), "-", INCOMPARABLE, note=ONLY_IN_BASELINE + _differ(r, only_cur)) for r in only_base]
    return out


def differing_keys(a: dict, b: dict) -> list[str]:
    """The identity keys two rows disagree on: budget and method parameters key by key (budget.epochs)."""
    return [name for name, *_ in _differences(a, b)]


def _differences(a: dict, b: dict) -> list[tuple[str, object, object, str]]:
    """(key, a's value, b's value, the part of match_key it belongs to) for each key two rows disagree on;
    a budget and the method parameters are compared key by key."""
    ka, kb = match_key(a), match_key(b)
    parts = ["kind", "schema_version", "env.device_kind", *KEYS.get(ka[0], RUN_KEY)]
    out = []
    for i, (part, va, vb) in enumerate(zip(parts, ka, kb)):
        if va == vb:
            continue
        if i >= 3:  # the rest of the key is JSON text
            va, vb = json.loads(va), json.loads(vb)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += [(f"{part}.{k}", va.get(k), vb.get(k), part) for k in sorted({*va, *vb}) if va.get(k) != vb.get(k)]
        else:
            out.append((part, va, vb, part))
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


def _ratio(cur, base):
    if (
        cur is None
        or base is None
        or not isinstance(cur, (int, float))
        or not isinstance(base, (int, float))
        or base == 0
    ):
        return None
    return cur / base


def _median(xs: list[float]) -> float:
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        return f"{v:.4g}" if abs(v) < 1e4 else f"{v:.0f}"
    return str(v)


def counts(verdicts: list[Verdict]) -> dict[str, int]:
    return {m: sum(v.mark == m for v in verdicts) for m in (WORSE, FAILING, BETTER, NOISE, INCOMPARABLE)}


def to_json(verdicts: list[Verdict], advisory: tuple[str, ...], totals: dict[str, int], code: int) -> str:
    """{"verdicts": [...], "counts": {...}, "exit_code": n}: each verdict's fields, category and whether it counts;
    a non-finite number is null."""
    fix = lambda x: None if isinstance(x, float) and not math.isfinite(x) else x
    items = [
        {**{k: fix(x) for k, x in asdict(v).items()}, "category": v.category, "regression": v.regression}
        | {"advisory": v.regression and v.category in advisory}
        for v in verdicts
    ]
    names = dict(
        zip((WORSE, FAILING, BETTER, NOISE, INCOMPARABLE), ("worse", "failing", "better", "noise", "incomparable"))
    )
    doc = {"verdicts": items, "counts": {names[k]: n for k, n in totals.items()}, "exit_code": code}
    return json.dumps(doc, indent=2, default=str)


def to_markdown(verdicts: list[Verdict], advisory: tuple[str, ...] = (), totals: dict[str, int] | None = None) -> str:
    lines = ["| | run | metric | baseline | current | ratio | note |", "|---|---|---|---|---|---|---|"]
    order = {WORSE: 0, FAILING: 0, INCOMPARABLE: 1, BETTER: 2, NOISE: 3}
    for v in sorted(verdicts, key=lambda v: order[v.mark]):
        note = v.note + (" (advisory)" if v.regression and v.category in advisory else "")
        ratio = f"{v.ratio:.3f}" if v.ratio is not None else ""
        cells = (v.mark, v.run, v.metric, _fmt(v.baseline), _fmt(v.current), ratio, note)
        lines.append("| " + " | ".join(map(md_cell, cells)) + " |")
    c = totals or counts(verdicts)
    lines.append("")
    lines.append(
        f"{c[WORSE]} worse (+), {c[FAILING]} newly failing (!), {c[BETTER]} better (-), "
        f"{c[NOISE]} within noise (~), {c[INCOMPARABLE]} incomparable (x)"
    )
    return "\n".join(lines)

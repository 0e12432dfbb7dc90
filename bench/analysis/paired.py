"""Paired comparison of two methods (default: LoRA against prompt tuning), per task and model (pure).

Both methods run on the same seeds and the same test examples, so their results pair up:

- over seeds: the per-seed accuracy differences (a - b) on the seeds where both have an ok row, their
  mean (the gap) and a paired t-test (scipy.stats.ttest_rel) when there are two seeds or more;
- over test examples: rows keep `test_correct` ('0'/'1' per test example, in the split's fixed order),
  so each example has a difference per seed; averaged over the paired seeds, the examples are
  resampled (paired bootstrap, RESAMPLES times, seeded) for a 95 % CI of the gap, and their signs
  flipped at random (paired sign-flip permutation test) for a two-sided p-value. Needs every paired
  seed's two vectors, of one length; otherwise only the seed-level test is given, and the CI is the
  t-interval over seeds (two seeds or more).

A method that does not train (zero-shot) pairs its one row with every seed of the other method.
Learning-rate sweeps count with their selected rate only (bench/analysis/selection.py). When a seed has several
ok rows of one method (stores concatenated), the last one counts.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from bench.analysis.selection import main_rows
from bench.analysis.significance import correct_vector
from bench.rows.schema import kind_of

DEFAULT_PAIR = ("lora", "prompt_tuning")
RESAMPLES = 10_000
SEED = 0
CHUNK = 500  # resamples drawn at a time: bounded memory for large test sets
EPS = 1e-12


@dataclass(frozen=True)
class Paired:
    task: str
    model: str
    a: str
    b: str
    seeds: tuple[int, ...]  # where both have an ok row
    gaps: tuple[float, ...]  # accuracy a - b, per seed
    gap: float  # their mean: > 0 when a is more accurate
    p_seeds: float | None  # paired t-test over seeds (None: one seed, or the same nonzero gap on every seed)
    n_examples: int  # test examples per seed in the example-level test (0: not available)
    p_examples: float | None  # paired sign-flip test over examples, two-sided
    ci_low: float | None  # 95 % CI of the gap: bootstrap over examples, else t-interval over seeds
    ci_high: float | None
    ci_from: str  # "examples", "seeds" or "" (no interval)


def _correct(row: dict) -> np.ndarray | None:
    s = correct_vector(row)
    return None if s is None else np.frombuffer(s.encode(), dtype=np.uint8) - ord("0")


def seed_test(gaps: list[float]) -> float | None:
    """Two-sided paired t-test p over seeds; 1.0 when every gap is 0, None when undefined (fewer than two
    seeds, or one nonzero gap repeated: no variance)."""
    if len(gaps) < 2:
        return None
    d = np.round(np.asarray(gaps, dtype=float), 12)
    if np.ptp(d) <= EPS:
        return 1.0 if abs(d.mean()) <= EPS else None
    from scipy.stats import ttest_1samp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(ttest_1samp(d, 0.0).pvalue)  # = ttest_rel(a, b) on the per-seed accuracies


def seed_interval(gaps: list[float]) -> tuple[float, float] | None:
    """t-interval (95 %) of the mean gap over seeds (two seeds or more)."""
    if len(gaps) < 2:
        return None
    from scipy.stats import t

    d = np.asarray(gaps, dtype=float)
    half = t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    return float(d.mean() - half), float(d.mean() + half)


def example_test(diffs: np.ndarray, resamples: int = RESAMPLES, seed: int = SEED) -> tuple[float, float, float]:
    """Per-example differences (a - b, averaged over seeds) -> (bootstrap 95 % CI low, high, two-sided
    sign-flip p). Deterministic for a seed."""
    e = np.asarray(diffs, dtype=float)
    n = len(e)
    rng = np.random.default_rng(seed)
    boot, extreme, observed = [], 0, abs(e.mean())
    for start in range(0, resamples, CHUNK):
        k = min(CHUNK, resamples - start)
        boot.append(e[rng.integers(0, n, size=(k, n))].mean(axis=1))
        signs = rng.integers(0, 2, size=(k, n), dtype=np.int8) * 2 - 1
        extreme += int(np.sum(np.abs(signs @ e) / n >= observed - EPS))
    lo, hi = np.quantile(np.concatenate(boot), [0.025, 0.975])
    return float(lo), float(hi), (1 + extreme) / (1 + resamples)


def compare(
    rows_a: dict[int, dict],
    rows_b: dict[int, dict],
    task: str,
    model: str,
    a: str,
    b: str,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> Paired | None:
    """seed -> ok row of each method -> their paired comparison (None: no seed in common)."""
    seeds = sorted(set(rows_a) & set(rows_b), key=lambda s: (0, s) if isinstance(s, int) else (1, str(s)))
    if not seeds:
        return None
    gaps = [rows_a[s]["accuracy"] - rows_b[s]["accuracy"] for s in seeds]
    vectors = [(_correct(rows_a[s]), _correct(rows_b[s])) for s in seeds]
    lengths = {len(v) for pair in vectors for v in pair if v is not None}
    n_examples, p_examples, ci, ci_from = 0, None, seed_interval(gaps), "seeds"
    if all(x is not None and y is not None for x, y in vectors) and len(lengths) == 1:
        diffs = np.mean([x.astype(float) - y for x, y in vectors], axis=0)
        lo, hi, p_examples = example_test(diffs, resamples, seed)
        n_examples, ci, ci_from = lengths.pop(), (lo, hi), "examples"
    return Paired(
        task,
        model,
        a,
        b,
        tuple(seeds),
        tuple(gaps),
        float(np.mean(gaps)),
        seed_test(gaps),
        n_examples,
        p_examples,
        ci[0] if ci else None,
        ci[1] if ci else None,
        ci_from if ci else "",
    )


def paired(
    rows: list[dict], pair: tuple[str, str] = DEFAULT_PAIR, resamples: int = RESAMPLES, seed: int = SEED
) -> list[Paired]:
    """One comparison per (task, model) where both methods of `pair` have ok rows on a common seed, in
    order of first appearance."""

    a, b = pair
    if a == b:
        return []
    by: dict[tuple, dict[str, dict]] = {}
    for r in main_rows(rows):
        if (
            kind_of(r) == "run"
            and r.get("status") == "ok"
            and r.get("method") in pair
            and isinstance(r.get("accuracy"), (int, float))
        ):
            by.setdefault((r.get("task"), r.get("model")), {a: {}, b: {}})[r["method"]][r.get("seed")] = r
    out = []
    for (task, model), m in by.items():
        result = compare(_every_seed(m[a], m[b]), _every_seed(m[b], m[a]), task, model, a, b, resamples, seed)
        if result:
            out.append(result)
    return out


def _every_seed(side: dict[int, dict], other: dict[int, dict]) -> dict[int, dict]:
    """A method that does not train (zero-shot: no step on any row) gives one result whatever the seed,
    so its row pairs with every seed of the other method (its own seed's row where it has one)."""
    if not side or any(r.get("train_steps", 1) != 0 for r in side.values()):
        return side
    first = side[min(side, key=str)]
    return {s: side.get(s, first) for s in set(side) | set(other)}


def fmt_p(p: float | None) -> str:
    return "-" if p is None else f"{p:.2g}" if p >= 1e-4 else "<1e-4"


def fmt_gap(c: Paired) -> str:
    ci = f" [{c.ci_low:+.3f}, {c.ci_high:+.3f}]" if c.ci_low is not None else ""
    return f"{c.gap:+.3f}{ci}"

"""The gate's tests and what they can detect (pure): a one-sided Mann-Whitney U test on two sets of timing
samples, an exact McNemar test on two rows' per-example answers, and for each the smallest change that the
pair of sample sets at hand could flag at the gate's level.

- U test: exact (the permutation distribution of U) when the two sets are small and hold no ties, else the
  normal approximation with tie and continuity corrections: scipy.stats.mannwhitneyu's p-values, computed
  here because the gate's power search calls the test thousands of times. Its smallest attainable p is that of two fully separated sets of the same sizes
  (1 / C(n1 + n2, n1) for the exact test): 3 samples a side never get below 0.05, whatever the change.
- McNemar: the test examples answered right by one row and wrong by the other (the discordant pairs) are,
  under no change, heads or tails; p that the current row lost that many or more is a binomial tail
  (exact, one-sided).
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from dataclasses import dataclass
from functools import cache
from statistics import median

EXACT_MAX = 400  # n1 * n2 up to which the U test is exact (tie-free samples): 20 a side
SEARCH_STEPS = 24  # bisection steps for the smallest slowdown a pair of sample sets could flag (to 1e-7 relative)


@dataclass(frozen=True)
class UTest:
    ratio: float | None  # median current / median base
    p_slower: float  # one-sided p that the current samples are slower
    p_faster: float
    floor: float  # the smallest p the test can reach with these sample sizes
    n_base: int
    n_cur: int


def _clean(xs) -> list[float]:
    return [float(x) for x in xs or [] if x is not None and math.isfinite(float(x))]


def _method(b: list[float], c: list[float]) -> str:
    return "exact" if len(b) * len(c) <= EXACT_MAX and len(set(b + c)) == len(b) + len(c) else "asymptotic"


def _p_greater(c: list[float], b: list[float], method: str) -> float:
    """One-sided p that `c` tends to be larger than `b`: scipy.stats.mannwhitneyu(c, b, alternative="greater")
    (exact, or asymptotic with its tie and continuity corrections), computed here: the gate and its power
    search call it thousands of times."""
    sb = sorted(b)
    u = sum(bisect.bisect_left(sb, x) + 0.5 * (bisect.bisect_right(sb, x) - bisect.bisect_left(sb, x)) for x in c)
    m, n = len(c), len(b)
    if method == "exact":
        counts = _u_counts(m, n)
        return sum(counts[math.ceil(u) :]) / math.comb(m + n, m)
    ties = Counter(c + b).values()
    total = m + n
    var = m * n / 12 * ((total + 1) - sum(t**3 - t for t in ties) / (total * (total - 1)))
    if var <= 0:
        return 1.0
    z = (u - m * n / 2 - 0.5) / math.sqrt(var)
    return 0.5 * math.erfc(z / math.sqrt(2))


@cache
def _u_counts(m: int, n: int) -> tuple[int, ...]:
    """How many orderings of m current and n base samples give each U (pairs with current > base), 0..m*n."""
    if m == 0 or n == 0:
        return (1,)
    fewer_cur, fewer_base = _u_counts(m - 1, n), _u_counts(m, n - 1)
    out = [0] * (m * n + 1)
    for k, v in enumerate(fewer_base):
        out[k] += v
    for k, v in enumerate(fewer_cur):  # the largest sample is a current one: above all n base samples
        out[k + n] += v
    return tuple(out)


def floor_p(n_base: int, n_cur: int, method: str = "exact") -> float:
    """The smallest one-sided p a U test of these sizes can give: every current sample above every base one."""
    if method == "exact":
        return 1 / math.comb(n_base + n_cur, n_base)
    return _p_greater([float(n_base + i) for i in range(n_cur)], [float(i) for i in range(n_base)], method)


def u_test(base_samples, cur_samples) -> UTest | None:
    """Both one-sided U tests of the current samples against the base ones (None: a side has no samples)."""
    b, c = _clean(base_samples), _clean(cur_samples)
    if not b or not c:
        return None
    method = _method(b, c)
    ratio = median(c) / median(b) if median(b) > 0 else None
    return UTest(
        ratio, _p_greater(c, b, method), _p_greater(b, c, method), floor_p(len(b), len(c), method), len(b), len(c)
    )


def can_reach(test: UTest, alpha: float) -> bool:
    """Whether these sample sizes can give p < alpha at all (the smallest attainable p is below it)."""
    return test.floor < alpha


def min_slowdown(base_samples, cur_samples, factor: float, alpha: float) -> float | None:
    """The smallest slowdown (median ratio) this pair of sample sets could flag: the current samples, keeping
    their spread, scaled until their median is more than `factor` times the base median AND the U test gives
    p < alpha. None: these sizes can never reach alpha."""
    b, c = _clean(base_samples), _clean(cur_samples)
    if not b or not c or median(b) <= 0 or median(c) <= 0:
        return None
    if floor_p(len(b), len(c), _method(b, c)) >= alpha and floor_p(len(b), len(c), "asymptotic") >= alpha:
        return None
    unit = [x * median(b) / median(c) for x in c]  # the current spread at the base's median

    def flags(f: float) -> bool:
        scaled = [x * f for x in unit]
        return f > factor and _p_greater(scaled, b, _method(b, scaled)) < alpha

    hi = max(factor, max(b) / min(x for x in unit if x > 0)) * 1.01 + 1e-9
    while not flags(hi):  # separated sets reach the floor; ties at the edge need a little more
        hi *= 2
        if hi > 1e6:
            return None
    lo = factor
    for _ in range(SEARCH_STEPS):
        mid = math.sqrt(lo * hi)
        lo, hi = (lo, mid) if flags(mid) else (mid, hi)
    return hi


# ----------------------------------------------------------------------------- paired answers


def correct_vector(row: dict) -> str | None:
    """The row's per-example answers ('1' right, '0' wrong, in the split's order), or None."""
    s = row.get("test_correct")
    return s if isinstance(s, str) and s and not set(s) - {"0", "1"} else None


@dataclass(frozen=True)
class McNemar:
    losses: int  # right in the base row, wrong now
    gains: int  # wrong in the base row, right now
    n: int  # test examples
    p_worse: float  # one-sided exact p of this many losses or more among the discordant pairs
    p_better: float


def binom_tail(k: int, n: int) -> float:
    """P(X >= k) for X ~ Binomial(n, 1/2)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    from scipy.stats import binom

    return float(binom.sf(k - 1, n, 0.5))


def mcnemar(base: str, cur: str) -> McNemar:
    """Exact McNemar test of two per-example answer vectors of one length (one-sided, both ways)."""
    if len(base) != len(cur):
        raise ValueError(f"answer vectors of different lengths: {len(base)} and {len(cur)}")
    losses = sum(b == "1" and c == "0" for b, c in zip(base, cur))
    gains = sum(b == "0" and c == "1" for b, c in zip(base, cur))
    n = losses + gains
    return McNemar(losses, gains, len(base), binom_tail(losses, n), binom_tail(gains, n))


def min_losses(gains: int, alpha: float) -> int:
    """The fewest losses the exact McNemar test flags (p < alpha) next to `gains` examples won back."""
    k = gains + 1
    while binom_tail(k, k + gains) >= alpha:
        k += 1
    return k

"""The gate's verdicts, one metric at a time (pure): each says which rule it used and the smallest change it
could have flagged with the samples at hand.

Marks, as in asv: `+` worse, `-` better, `~` within noise, `!` newly failing, `x` incomparable, and `?` for a
timing whose samples are too few for the U test to reach the gate's level: judged by its factor alone, with
a stricter threshold (FACTOR_ONLY_POWER), and within it.

- timings: slower by more than the factor (medians of the raw samples) AND a one-sided Mann-Whitney U test
  at p < alpha; factor-only (see above) when the sizes cannot reach alpha;
- accuracy: an exact McNemar test on the two rows' per-example answers (`test_correct`, one length) at
  p < alpha, one-sided; rows without them fall back to the baseline's 95 % interval, and say so;
- parameter counts must match exactly; adapter sizes within 1 %; one number without samples (peak memory, a
  rate found by search) beyond the factor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.analysis import significance as sig
from bench.rows import schema

WORSE, BETTER, NOISE, FAILING, INCOMPARABLE, FACTOR_ONLY = "+", "-", "~", "!", "x", "?"
MARKS = (WORSE, FAILING, BETTER, NOISE, FACTOR_ONLY, INCOMPARABLE)
LEGEND = {
    WORSE: "worse",
    FAILING: "newly failing",
    BETTER: "better",
    NOISE: "within noise",
    FACTOR_ONLY: "factor only, within its stricter threshold (too few samples for the test)",
    INCOMPARABLE: "incomparable",
}
ALPHA = 0.01
FACTOR_ONLY_POWER = 2  # a factor-only timing must exceed factor ** 2 (1.56x on CPU, 1.21x on GPU)
SIZE_TOLERANCE = 0.01  # serialized adapters carry a small config whose length varies with versions

# the rule each verdict names
U_TEST, BY_FACTOR, MCNEMAR, INTERVAL = "Mann-Whitney U", "factor only", "exact McNemar", "95% interval"
EXACT, SIZE, FACTOR, STATUS = "exact", "size", "factor", "status"


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
    test: str = ""  # the rule it used (U_TEST, BY_FACTOR, MCNEMAR, INTERVAL, EXACT, SIZE, FACTOR, STATUS)
    detectable: str = ""  # the smallest change it could flag, as text: "x1.31", "-0.7 pts", "any change"
    min_change: float | None = None  # the same as a number: a factor for timings, points for accuracy
    discordant: tuple[int, int] | None = None  # McNemar: (right -> wrong, wrong -> right)

    @property
    def category(self) -> str:
        return "status" if self.metric == "status" else schema.category(self.metric)

    @property
    def regression(self) -> bool:
        return self.mark in (WORSE, FAILING)

    @property
    def factor_only(self) -> bool:
        return self.test == BY_FACTOR


def ratio_of(cur, base) -> float | None:
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (cur, base)) or base == 0:
        return None
    return cur / base


def number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def lost_values(verdicts: list[Verdict], cur_row: dict) -> list[Verdict]:
    """A metric the current row holds as null, NaN or infinity where the baseline had a number: worse, never
    within noise (a metric the current row leaves out stays as judged)."""
    return [
        Verdict(
            v.run,
            v.metric,
            WORSE,
            v.baseline,
            cur_row[v.metric],
            note="no finite value now; the baseline had one",
            test=v.test,
        )
        if number(v.baseline) and v.metric in cur_row and not number(cur_row[v.metric])
        else v
        for v in verdicts
    ]


def exact_verdict(run: str, metric: str, base, cur) -> Verdict:
    """Trainable parameters must match exactly: any change means the method trains something else."""
    kw = dict(test=EXACT, detectable="any change")
    if base == cur:
        return Verdict(run, metric, NOISE, base, cur, 1.0, **kw)
    return Verdict(run, metric, WORSE, base, cur, ratio_of(cur, base), note="changed: must match exactly", **kw)


def size_verdict(run: str, metric: str, base, cur, tolerance: float = SIZE_TOLERANCE) -> Verdict:
    ratio = ratio_of(cur, base)
    kw = dict(test=SIZE, detectable=f"x{1 + tolerance:g}", min_change=1 + tolerance)
    if ratio is None or abs(ratio - 1) <= tolerance:
        return Verdict(run, metric, NOISE, base, cur, ratio, **kw)
    return Verdict(run, metric, WORSE if ratio > 1 else BETTER, base, cur, ratio, **kw)


def accuracy_verdict(run: str, base_row: dict, cur_row: dict, metric: str = "accuracy", alpha: float = ALPHA):
    """The paired test where both rows hold per-example answers of one length (accuracy, and a score that
    is exact match or accuracy), else the baseline's 95 % interval."""
    b, c = sig.correct_vector(base_row), sig.correct_vector(cur_row)
    paired = metric == "accuracy" or base_row.get("metric") in ("accuracy", "exact_match")
    if paired and b and c and len(b) == len(c) and _number_pair(base_row, cur_row, metric):
        return paired_verdict(run, base_row, cur_row, metric, alpha)
    if not paired:
        why = f"no per-example {base_row.get('metric') or metric} scores"
    elif b and c and len(b) != len(c):
        why = "per-example answers of different lengths"
    else:
        why = "no per-example answers on both sides"
    return interval_verdict(run, base_row, cur_row, metric, why)


def _number_pair(base_row: dict, cur_row: dict, metric: str) -> bool:
    return number(base_row.get(metric)) and number(cur_row.get(metric))


def paired_verdict(run: str, base_row: dict, cur_row: dict, metric: str, alpha: float = ALPHA) -> Verdict:
    """Worse when the exact McNemar test finds more right -> wrong than wrong -> right answers at p < alpha."""
    base, cur = base_row[metric], cur_row[metric]
    t = sig.mcnemar(sig.correct_vector(base_row), sig.correct_vector(cur_row))
    need = sig.min_losses(t.gains, alpha)
    points = 100 * (need - t.gains) / t.n
    worse, better = t.p_worse < alpha, t.p_better < alpha
    p = t.p_worse if worse or (not better and t.losses >= t.gains) else t.p_better
    mark = WORSE if worse else BETTER if better else NOISE
    note = f"{t.losses} right->wrong, {t.gains} wrong->right of {t.n}, p={p:.2g}"
    return Verdict(
        run, metric, mark, base, cur, ratio_of(cur, base), p, note, MCNEMAR,
        f"-{points:.1f} pts ({need - t.gains} of {t.n})", points, (t.losses, t.gains),
    )  # fmt: skip


def interval_verdict(run: str, base_row: dict, cur_row: dict, metric: str = "accuracy", why: str = "") -> Verdict:
    """The fallback: worse only when the current value falls below the baseline's 95 % interval (better:
    above it). Blind to any change inside it."""
    base, cur = base_row.get(metric), cur_row.get(metric)
    lo, hi = base_row.get(f"{metric}_ci_low"), base_row.get(f"{metric}_ci_high")
    rule = f"interval rule ({why})" if why else "interval rule"
    if base is None or cur is None or lo is None or hi is None:
        return Verdict(run, metric, INCOMPARABLE, base, cur, note=f"{rule}: no value or no interval", test=INTERVAL)
    points = 100 * (base - lo)
    note = f"{rule}: baseline 95% CI [{lo:.3f}, {hi:.3f}]"
    mark = WORSE if cur < lo else BETTER if cur > hi else NOISE
    return Verdict(
        run, metric, mark, base, cur, ratio_of(cur, base), note=note, test=INTERVAL,
        detectable=f"-{points:.1f} pts", min_change=points,
    )  # fmt: skip


def timing_verdict(
    run: str, metric: str, base_row: dict, cur_row: dict, factor: float, alpha: float = ALPHA
) -> Verdict:
    """Slower by more than `factor` (medians of the raw samples) and a U test at p < alpha: both. Sizes that
    cannot reach alpha: factor only, beyond factor ** FACTOR_ONLY_POWER."""
    samples = schema.metric(metric).samples
    base, cur = base_row.get(metric), cur_row.get(metric)
    t = sig.u_test(base_row.get(samples), cur_row.get(samples))
    if t is None or t.ratio is None:
        return Verdict(run, metric, INCOMPARABLE, base, cur, note=f"no {samples}", test=U_TEST)
    if not sig.can_reach(t, alpha):
        return factor_only_verdict(run, metric, base, cur, t, factor, alpha)
    ratio = t.ratio
    need = sig.min_slowdown(base_row.get(samples), cur_row.get(samples), factor, alpha)
    kw = dict(test=U_TEST, detectable=f"x{need:.2f}" if need else "", min_change=need)
    sizes = f"{t.n_base} vs {t.n_cur} samples"
    if ratio > factor and t.p_slower < alpha:
        note = f"{ratio:.2f}x slower > {factor}x, p={t.p_slower:.2g} ({sizes})"
        return Verdict(run, metric, WORSE, base, cur, ratio, t.p_slower, note, **kw)
    if ratio < 1 / factor and t.p_faster < alpha:
        note = f"{1 / ratio:.2f}x faster, p={t.p_faster:.2g} ({sizes})"
        return Verdict(run, metric, BETTER, base, cur, ratio, t.p_faster, note, **kw)
    p = t.p_slower if ratio >= 1 else t.p_faster
    return Verdict(run, metric, NOISE, base, cur, ratio, p, f"{ratio:.2f}x of baseline time, p={p:.2g} ({sizes})", **kw)


def factor_only_verdict(run: str, metric: str, base, cur, t: sig.UTest, factor: float, alpha: float) -> Verdict:
    strict = factor**FACTOR_ONLY_POWER
    ratio = t.ratio
    why = f"{t.n_base} vs {t.n_cur} samples: the U test cannot reach p<{alpha:g} (at best p={t.floor:.2g})"
    mark = WORSE if ratio > strict else BETTER if ratio < 1 / strict else FACTOR_ONLY
    note = f"{ratio:.2f}x of baseline time; {why}, so the factor alone must pass {strict:.2f}x"
    return Verdict(
        run, metric, mark, base, cur, ratio, t.p_slower if ratio >= 1 else t.p_faster, note, BY_FACTOR,
        f"x{strict:.2f}", strict,
    )  # fmt: skip


def factor_verdict(run: str, metric: str, base, cur, factor: float) -> Verdict:
    """One number without samples (peak memory, a rate found by search): worse only beyond the factor, in the
    metric's direction."""
    ratio = ratio_of(cur, base)
    kw = dict(test=FACTOR, detectable=f"x{factor:g}", min_change=factor)
    if ratio is None:
        return Verdict(run, metric, INCOMPARABLE, base, cur, **kw)
    worse, better = (ratio > factor, ratio < 1 / factor)
    if schema.direction(metric) == "higher":
        worse, better = better, worse
    mark = WORSE if worse else BETTER if better else NOISE
    return Verdict(run, metric, mark, base, cur, ratio, **kw)


def status_verdict(run: str, base_row: dict, cur_row: dict) -> Verdict | None:
    """None when both ran: the metrics speak. Newly failing is `!`; failing before and now is noise."""
    b, c = base_row.get("status"), cur_row.get("status")
    if b == "ok" and c == "ok":
        return None
    if b == "ok":
        return Verdict(run, "status", FAILING, b, c, note=(cur_row.get("error") or "")[:200], test=STATUS)
    if c == "ok":
        return Verdict(run, "status", BETTER, b, c, note="fixed", test=STATUS)
    return Verdict(run, "status", NOISE, b, c, note="not ok in both", test=STATUS)

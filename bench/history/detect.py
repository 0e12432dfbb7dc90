"""Steps in a metric's history, and the CI check of the newest commit (pure but for ruptures/scipy).

Detection: PELT (Killick, Fearnhead & Eckley 2012) from `ruptures`, with the L1 cost (robust to the
outliers of timings on shared machines) over the per-commit medians in commit order, every index a
candidate (jump=1) and segments of two commits or more. The penalty is PENALTY * sigma * ln(n), with sigma
the noise scale from the median absolute deviation of first differences (a step moves one difference,
not the median) and at least NOISE_FLOOR of the series' median; a step that changes the median by less
than STEP_FLOOR is merged back, as asv's regression thresholds do.

The check follows `compare` (and asv's continuous check) with the same rules (bench/analysis/gate.py): the
newest commit's rows against the pooled rows of the current segment before it. A timing is worse when its
median is slower by more than the factor AND a one-sided Mann-Whitney U test on the raw samples agrees (by
the factor alone, stricter, where the sample sizes cannot reach the level); parameter counts must match
exactly; accuracy is judged by an exact McNemar test against the segment's newest per-example answers (the
segment's 95 % interval for rows without them); peak memory beyond the factor. Each finding names its rule
and the smallest change it could have flagged.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from bench.analysis import compare, gate, significance
from bench.analysis.settings import setting_labels
from bench.execute.identity import match_key
from bench.history.store import Commit, commit_key, commits
from bench.render.verdicts import fmt_value
from bench.rows import schema
from bench.rows.schema import kind_of

# metric -> panel title: the metrics `bench compare` judges (bench/rows/schema.py), judged here the same way
TRACKED = {m.name: m.header for m in schema.metrics("verdict")}
TIMINGS = {m.name: m.samples for m in schema.metrics("samples")}  # a timing -> the row field of its raw samples
PENALTY = 3.0
MIN_SIZE = 2
NOISE_FLOOR = 0.01
STEP_FLOOR = 0.05


@dataclass
class Point:
    commit: Commit
    rows: list[dict]
    values: list[float]
    samples: list[float] = field(default_factory=list)

    @property
    def value(self) -> float:
        return statistics.median(self.values)


@dataclass
class Series:
    machine_class: str
    suite: str
    task: str
    method: str
    label: str  # method plus the settings that set it apart from the task's other runs of that method
    metric: str
    points: list[Point]

    @property
    def run(self) -> str:
        return f"{self.task} / {self.label} ({self.suite}, {self.machine_class})"


@dataclass(frozen=True)
class Step:
    series: Series
    index: int  # position in series.points of the first point after the step
    before: float
    after: float
    ratio: float | None
    p_value: float | None
    worse: bool

    @property
    def first(self) -> Commit:
        return self.series.points[self.index].commit


# ----------------------------------------------------------------------------- series


def _value(row: dict, metric: str) -> float | None:
    if metric == "score" and row.get("metric") == "accuracy":
        return None  # the same number as accuracy
    v = row.get(metric)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def build_series(rows: list[dict], machine_class: str, suite: str) -> list[Series]:
    """One series per run identity (task, model, method, settings, seed) and metric, its points in commit
    order; failed runs and metrics a row lacks are left out."""
    ok = [r for r in rows if kind_of(r) == "run" and r.get("status") == "ok"]
    order = {c.key: c for c in commits(rows)}
    labels = setting_labels(ok)
    runs: dict[tuple, list[tuple[dict, str]]] = {}
    for row, lab in zip(ok, labels):
        runs.setdefault(match_key(row), []).append((row, lab))
    seeds: dict[str, set] = {}
    for members in runs.values():
        seeds.setdefault(f"{members[0][0].get('task')}/{members[0][1]}", set()).add(members[0][0].get("seed"))
    out = []
    for members in runs.values():
        first, lab = members[0]
        if len(seeds[f"{first.get('task')}/{lab}"]) > 1:
            lab = f"{lab} seed {first.get('seed')}"
        for metric in TRACKED:
            per_commit: dict[str, list[dict]] = {}
            for r, _ in members:
                if _value(r, metric) is not None:
                    per_commit.setdefault(commit_key(r), []).append(r)
            if not per_commit:
                continue
            samples_key = TIMINGS.get(metric)
            points = [
                Point(
                    order[key],
                    rs,
                    [_value(r, metric) for r in rs],
                    [float(x) for r in rs for x in (r.get(samples_key) or []) if x is not None] if samples_key else [],
                )
                for key, rs in sorted(per_commit.items(), key=lambda kv: order[kv[0]].index)
            ]
            out.append(Series(machine_class, suite, first.get("task"), first.get("method"), lab, metric, points))
    return out


# ----------------------------------------------------------------------------- detection


def noise_scale(values: list[float]) -> float:
    diffs = [b - a for a, b in zip(values, values[1:])]
    mad = 0.0
    if diffs:
        med = statistics.median(diffs)
        mad = 1.4826 * statistics.median(abs(d - med) for d in diffs) / math.sqrt(2)
    return max(mad, NOISE_FLOOR * abs(statistics.median(values)), 1e-12)


def change_points(values: list[float], penalty: float = PENALTY, min_size: int = MIN_SIZE) -> list[int]:
    """Indices where a new segment starts (never 0), by PELT with the L1 cost; steps under STEP_FLOOR
    of relative change merged back."""
    n = len(values)
    if n < 2 * min_size:
        return []
    import numpy as np
    import ruptures

    pen = penalty * noise_scale(values) * math.log(n)
    signal = np.asarray(values, dtype=float).reshape(-1, 1)
    bounds = [b for b in ruptures.Pelt(model="l1", min_size=min_size, jump=1).fit(signal).predict(pen=pen) if b < n]
    while True:  # drop the smallest step under the floor, then look again: neighbours' medians change
        edges = [0, *bounds, n]
        small = []
        for i, b in enumerate(bounds):
            before, after = statistics.median(values[edges[i] : b]), statistics.median(values[b : edges[i + 2]])
            rel = abs(after - before) / abs(before) if before else math.inf if after != before else 0.0
            if rel < STEP_FLOOR:
                small.append((rel, b))
        if not small:
            return bounds
        bounds.remove(min(small)[1])


def _pooled(points: list[Point]) -> tuple[float, list[float]]:
    return statistics.median(v for p in points for v in p.values), [s for p in points for s in p.samples]


def steps(series: Series, penalty: float = PENALTY) -> list[Step]:
    """The series' detected steps, each with the medians either side, their ratio, and (for timings with
    raw samples) the one-sided U test's p that the later segment moved that way."""
    values = [p.value for p in series.points]
    bounds = change_points(values, penalty)
    edges = [0, *bounds, len(values)]
    out = []
    for i, b in enumerate(bounds):
        before, bs = _pooled(series.points[edges[i] : b])
        after, as_ = _pooled(series.points[b : edges[i + 2]])
        ratio = after / before if before else None
        p = None
        if bs and as_:
            t = significance.u_test(bs, as_)
            p = t.p_slower if after >= before else t.p_faster
        up_is_worse = schema.direction(series.metric) == "lower"
        out.append(Step(series, b, before, after, ratio, p, (after > before) == up_is_worse))
    return out


# ----------------------------------------------------------------------------- the check


@dataclass(frozen=True)
class Finding:
    series: Series
    verdict: gate.Verdict
    segment: tuple[Commit, Commit]  # first and last commit of the history it was held against
    head: Commit

    @property
    def regression(self) -> bool:
        return self.verdict.regression

    def text(self) -> str:
        first, last = self.segment
        span = first.short if first == last else f"{first.short}..{last.short}"
        v = self.verdict
        how = "; ".join(x for x in (v.test, v.note, f"can flag {v.detectable}" if v.detectable else "") if x)
        note = f" ({how})" if how else ""
        return (
            f"{self.series.metric} of {self.series.run}: {fmt_value(self.verdict.baseline)} over commits {span} "
            f"-> {fmt_value(self.verdict.current)} at commit {self.head.short}{note}"
        )


def _summary_row(points: list[Point], metric: str) -> dict:
    """The pooled rows of `points` as one row compare's verdicts can read."""
    rows = [r for p in points for r in p.rows]
    row = {"status": "ok", metric: statistics.median(v for p in points for v in p.values)}
    if metric in TIMINGS:
        row[TIMINGS[metric]] = [s for p in points for s in p.samples]
    for bound in ("ci_low", "ci_high"):
        got = [r[f"{metric}_{bound}"] for r in rows if isinstance(r.get(f"{metric}_{bound}"), (int, float))]
        if got:
            row[f"{metric}_{bound}"] = statistics.median(got)
    answers = [r for r in rows if significance.correct_vector(r)] if schema.metric(metric).verdict == "interval" else []
    if answers:  # the newest per-example answers: what the paired test holds the next commit against
        row["test_correct"], row["metric"] = answers[-1]["test_correct"], answers[-1].get("metric")
        row[metric] = answers[-1].get(metric, row[metric])
    return row


def verdict(series: Series, base: list[Point], head: Point, factor: float, alpha: float = gate.ALPHA) -> gate.Verdict:
    """compare's verdict for one metric: the pooled `base` points against `head`."""
    m, run = series.metric, series.run
    b, c = _summary_row(base, m), _summary_row([head], m)
    how = schema.metric(m).verdict
    if how == "exact":
        return gate.exact_verdict(run, m, base[-1].value, head.value)  # exact: against the commit before
    if how == "size":
        return gate.size_verdict(run, m, base[-1].value, head.value)
    if how == "interval":
        return gate.accuracy_verdict(run, b, c, metric=m, alpha=alpha)
    if how == "timing" and b[TIMINGS[m]] and c[TIMINGS[m]]:
        return gate.timing_verdict(run, m, b, c, factor, alpha)
    return gate.factor_verdict(run, m, b[m], c[m], factor)  # a ratio beyond the factor, either way


def check_doc(
    machine_class: str, suite: str, head: str, n_commits: int, findings: list[Finding], advisory: tuple[str, ...]
) -> dict:
    """One group's check as a JSON-ready document: every finding with its verdict (test and power
    included) and the commits it was held against."""
    items = [
        {
            "series": f.series.run,
            "segment": [f.segment[0].key, f.segment[1].key],
            "commit": f.head.key,
            **compare.verdict_doc(f.verdict, advisory),
        }
        for f in findings
    ]
    return {"machine_class": machine_class, "suite": suite, "commit": head, "commits": n_commits, "findings": items}


def check(
    all_series: list[Series], head: str, factor: float, penalty: float = PENALTY, alpha: float = gate.ALPHA
) -> list[Finding]:
    """For each series with a point at commit `head`: that point against the current segment of the
    points before it (the steps detected among them cut off older history). Series without earlier
    points are left out (no history yet)."""
    out = []
    for s in all_series:
        at = [i for i, p in enumerate(s.points) if p.commit.key == head]
        if not at or at[0] == 0:
            continue
        before = s.points[: at[0]]
        bounds = change_points([p.value for p in before], penalty)
        segment = before[bounds[-1] :] if bounds else before
        v = verdict(s, segment, s.points[at[0]], factor, alpha)
        out.append(Finding(s, v, (segment[0].commit, segment[-1].commit), s.points[at[0]].commit))
    return out

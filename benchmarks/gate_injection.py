"""The regression gate, measured: known regressions injected into committed rows, and A/A pairs (no change),
judged by `bench compare`'s own rules (bench/analysis/compare.py); per metric, how often each is flagged.

- timings: every timing metric's raw samples x1.1, x1.25, x1.5, x2 and x10: the row's own samples scaled
  (as a user would fake a slow run), a resampled copy (drawn with replacement from the row's samples, TRIALS
  draws a row: another run from the same distribution), and a real rerun's samples scaled the same way
  against the baseline;
- accuracy: one-way drops of k right answers turned wrong, out of 1,000 test examples (the LLM rows of
  rotten_tomatoes) and out of 200 (the smoke rows), judged by the paired test and, for reference, by the
  interval rule that rows without per-example answers fall back to;
- a changed trainable-parameter count (+8) and a 5 % larger adapter;
- A/A: jittered copies of each row (every sample times a log-normal factor with the row's own spread: sigma
  from the median absolute deviation of its log samples), resampled copies, and real reruns of the smoke suite on the same machine: every flag is a
  false alarm; "gate" counts pairs whose exit code would be 1 with timings and memory advisory (as CI runs
  it) and with every category counting (strict timing).

    python benchmarks/gate_injection.py [--trials 25] [--seed 0] [--factor 1.25] [--alpha 0.01]
        [--baseline results/baselines/cpu-amd-epyc-2c/smoke.jsonl results/gate/smoke-2026-11-29.jsonl]
        [--reruns results/gate/smoke-rerun-2.jsonl results/gate/smoke-rerun-3.jsonl]
        [--llm results/llm/cpu-amd-epyc-2c.jsonl]
"""

from __future__ import annotations

import argparse
import copy
import math
import random
import statistics
from collections import defaultdict
from pathlib import Path

from bench.analysis import compare as cmp
from bench.execute.identity import match_key
from bench.rows import schema
from bench.rows.schema import kind_of
from bench.rows.store import read_rows

FACTORS = (1.1, 1.25, 1.5, 2.0, 10.0)
DROPS = (5, 10, 15, 25, 50)
TIMINGS = [m for m in schema.metrics(verdict="timing") if m.kind == "run"]


def spread(samples: list[float]) -> float:
    """The samples' own log-scale spread (1.4826 x MAD of the logs), at least 1 %."""
    logs = [math.log(x) for x in samples if x and x > 0]
    if len(logs) < 2:
        return 0.05
    med = statistics.median(logs)
    return max(0.01, 1.4826 * statistics.median(abs(v - med) for v in logs))


def timed(row: dict, factor: float, rng: random.Random | None = None, how: str = "scaled") -> dict:
    """The row with every timing's samples x factor: as they are ("scaled"), drawn with replacement from them
    ("resampled") or each jittered by their own spread ("jittered")."""
    out = copy.deepcopy(row)
    for m in TIMINGS:
        xs = row.get(m.samples)
        if not xs:
            continue
        s = spread(xs)
        if how == "resampled":
            xs = [rng.choice(xs) for _ in xs]
        elif how == "jittered":
            xs = [x * math.exp(rng.gauss(0, s)) for x in xs]
        out[m.samples] = [x * factor for x in xs]
        if row.get(m.name) is not None:
            out[m.name] = statistics.median(out[m.samples])
    return out


def dropped(row: dict, k: int, rng: random.Random, paired: bool = True) -> dict:
    """The row with k right answers turned wrong (accuracy and score follow); without per-example answers on
    `paired=False` (the interval rule's view of the same change)."""
    out = copy.deepcopy(row)
    answers = list(row["test_correct"])
    right = [i for i, a in enumerate(answers) if a == "1"]
    for i in rng.sample(right, k):
        answers[i] = "0"
    out["test_correct"] = "".join(answers)
    out["accuracy"] = answers.count("1") / len(answers)
    if row.get("metric") in ("accuracy", "exact_match"):
        out["score"] = out["accuracy"]
    if not paired:
        out.pop("test_correct")
    return out


def judged(base: dict, cur: dict, factor: float, alpha: float) -> dict[str, cmp.Verdict]:
    return {v.metric: v for v in cmp.compare_rows(base, cur, factor, alpha)}


class Tally:
    """flagged / trials per (case, metric), and how many of the flags were by factor alone."""

    def __init__(self):
        self.n, self.hit, self.alone = defaultdict(int), defaultdict(int), defaultdict(int)

    def add(self, case: str, metric: str, v: cmp.Verdict | None) -> None:
        if v is None:
            return
        self.n[case, metric] += 1
        self.hit[case, metric] += v.mark == cmp.WORSE
        self.alone[case, metric] += v.mark == cmp.WORSE and v.factor_only

    def cell(self, case: str, metric: str) -> str:
        n = self.n.get((case, metric), 0)
        if not n:
            return "-"
        h, a = self.hit[case, metric], self.alone[case, metric]
        return f"{100 * h / n:.0f}% ({h}/{n}" + (f", {a} by factor alone" if a else "") + ")"

    def table(self, title: str, cases: list[str], metrics: list[str]) -> str:
        metrics = [m for m in metrics if any(self.n.get((c, m)) for c in cases)]
        lines = [f"| {title} | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
        lines += [f"| {c} | " + " | ".join(self.cell(c, m) for m in metrics) + " |" for c in cases]
        return "\n".join(lines)


def sample_sizes(rows: list[dict]) -> str:
    sizes = {m.name: sorted({len(r.get(m.samples) or []) for r in rows} - {0}) for m in TIMINGS}
    return ", ".join(f"{k} {'/'.join(map(str, v))}" for k, v in sizes.items() if v)


def timing_section(rows: list[dict], reruns: list[list[dict]], args, rng: random.Random, label: str) -> str:
    t = Tally()
    names = [m.name for m in TIMINGS]
    cases = []

    def judge(case: str, base: dict, cur: dict) -> None:
        if case not in cases:
            cases.append(case)
        for m, v in judged(base, cur, args.factor, args.alpha).items():
            t.add(case, m, v if m in names else None)

    for row in rows:
        for _ in range(args.trials):
            judge("A/A jittered copy", row, timed(row, 1.0, rng, "jittered"))
            judge("A/A resampled copy", row, timed(row, 1.0, rng, "resampled"))
        for f in FACTORS:
            judge(f"x{f:g} scaled", row, timed(row, f))
        for f in FACTORS:
            for _ in range(args.trials):
                judge(f"x{f:g} resampled", row, timed(row, f, rng, "resampled"))
    by_key = {match_key(r): r for r in rows}
    for rerun in reruns:
        for cur in rerun:
            if match_key(cur) in by_key:
                for f in (1.0, *FACTORS):
                    judge("A/A real rerun" if f == 1 else f"x{f:g} real rerun", by_key[match_key(cur)], timed(cur, f))
    head = f"{label}: timed samples per row {sample_sizes(rows)}"
    return f"{head}\n\n" + t.table("timings", cases, names)


def accuracy_section(groups: dict[str, list[dict]], args, rng: random.Random) -> str:
    lines = [
        "| accuracy, one-way drop | rows | paired test (exact McNemar) | interval rule (fallback) | "
        "paired test can flag |",
        "|---|---|---|---|---|",
    ]
    for label, rows in groups.items():
        n = len(rows[0]["test_correct"])
        for k in (0, *DROPS):
            paired = [judged(r, dropped(r, k, rng), args.factor, args.alpha)["accuracy"] for r in rows]
            fallback = [
                judged({**r, "test_correct": None}, dropped(r, k, rng, paired=False), args.factor, args.alpha)[
                    "accuracy"
                ]
                for r in rows
            ]
            hits = sum(v.mark == cmp.WORSE for v in paired)
            old = sum(v.mark == cmp.WORSE for v in fallback)
            power = sorted({v.detectable for v in paired})
            case = "A/A (no change)" if k == 0 else f"{k} of {n}"
            lines.append(
                f"| {case} | {label} | {100 * hits / len(rows):.0f}% ({hits}/{len(rows)}) | "
                f"{100 * old / len(rows):.0f}% ({old}/{len(rows)}) | {', '.join(power)} |"
            )
    return "\n".join(lines)


def exact_section(rows: list[dict], args) -> str:
    lines = ["| injected | metric | flagged |", "|---|---|---|"]
    for metric, change, label in (
        ("trainable_params", lambda v: v + 8, "+8 trainable parameters"),
        ("adapter_bytes", lambda v: round(v * 1.05), "adapter 5 % larger"),
    ):
        have = [r for r in rows if r.get(metric)]
        hits = sum(
            judged(r, {**r, metric: change(r[metric])}, args.factor, args.alpha)[metric].regression for r in have
        )
        lines.append(f"| {label} | {metric} | {100 * hits / max(1, len(have)):.0f}% ({hits}/{len(have)}) |")
    return "\n".join(lines)


def aa_section(rows: list[dict], reruns: list[list[dict]], args, rng: random.Random) -> str:
    """Whole-file A/A pairs: exit codes as CI computes them, timings advisory and counting."""
    pairs = [("jittered copy", rows, [timed(r, 1.0, rng, "jittered") for r in rows]) for _ in range(args.trials)]
    pairs += [("resampled copy", rows, [timed(r, 1.0, rng, "resampled") for r in rows]) for _ in range(args.trials)]
    pairs += [("real rerun", rows, rerun) for rerun in reruns]
    lines = [
        "| A/A pairs | pairs | gate fails, timing and memory advisory | gate fails, strict timing | "
        "timing verdicts flagged (strict) |",
        "|---|---|---|---|---|",
    ]
    for kind in ("jittered copy", "resampled copy", "real rerun"):
        got = [(b, c) for k, b, c in pairs if k == kind]
        if not got:
            continue
        verdicts = [cmp.compare(b, c, args.factor, args.alpha) for b, c in got]
        advisory = sum(cmp.exit_code(v, ("timing", "memory")) for v in verdicts)
        strict = sum(cmp.exit_code(v) for v in verdicts)
        timings = [x for v in verdicts for x in v if x.category == "timing"]
        flagged = sum(x.regression for x in timings)
        lines.append(
            f"| {kind} | {len(got)} | {advisory} | {strict} | "
            f"{100 * flagged / max(1, len(timings)):.1f}% ({flagged}/{len(timings)}) |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--baseline",
        type=Path,
        nargs="+",
        default=[Path("results/baselines/cpu-amd-epyc-2c/smoke.jsonl"), Path("results/gate/smoke-2026-11-29.jsonl")],
        help="smoke rows: the first is the baseline the reruns and accuracy drops are judged against",
    )
    ap.add_argument(
        "--reruns",
        type=Path,
        nargs="*",
        default=[Path("results/gate/smoke-rerun-2.jsonl"), Path("results/gate/smoke-rerun-3.jsonl")],
    )
    ap.add_argument("--llm", type=Path, default=Path("results/llm/cpu-amd-epyc-2c.jsonl"))
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--factor", type=float, default=cmp.DEFAULT_FACTOR["cpu"])
    ap.add_argument("--alpha", type=float, default=cmp.ALPHA)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    ok = lambda rows: [r for r in rows if kind_of(r) == "run" and r.get("status") == "ok"]
    smoke, llm = ok(read_rows(args.baseline[0])), ok(read_rows(args.llm))
    reruns = [ok(read_rows(p)) for p in args.reruns]
    thousand = [r for r in llm if len(r.get("test_correct") or "") == 1000]
    print(f"gate: factor {args.factor}, alpha {args.alpha}, {args.trials} jittered draws a row, seed {args.seed}\n")
    print(timing_section(smoke, reruns, args, rng, f"smoke rows ({args.baseline[0]})"), end="\n\n")
    for path in args.baseline[1:]:
        print(timing_section(ok(read_rows(path)), [], args, rng, f"smoke rows ({path})"), end="\n\n")
    print(timing_section(llm, [], args, rng, f"LLM rows ({args.llm})"), end="\n\n")
    answered = [r for r in smoke if len(r.get("test_correct") or "") == 200]
    groups = {f"{len(thousand)} LLM rows (rotten_tomatoes)": thousand, f"{len(answered)} smoke rows": answered}
    print(accuracy_section({k: v for k, v in groups.items() if v}, args, rng), end="\n\n")
    print(exact_section(smoke + llm, args), end="\n\n")
    print(aa_section(smoke, reruns, args, rng))


if __name__ == "__main__":
    main()

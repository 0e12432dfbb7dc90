"""Claims 4-7 of docs/claims.md, each decided from result rows by a pure function: serving merged weights,
one task at a time, mixed traffic, and prompt tuning as the remedy. Thresholds are the named constants below."""

from __future__ import annotations

from bench.analysis.aggregate import by_task, disjoint_below
from bench.analysis.evidence import (
    CAVEATS,
    FAILS,
    HOLDS,
    MIXED_LORA,
    NOT_MEASURED,
    SWAPPING_LORA,
    UNDECIDED,
    UNVERIFIED,
    Claim,
    at,
    batch_samples,
    comparable_slice,
    fmt_acc,
    fmt_rate,
    fmt_spread,
    ok_switch,
    overhead_range,
    slice_label,
    slower_than,
)
from bench.analysis.fleets import MAX_P99_ERR_PCT, reference_fleet, serve_rows, unverified, validation
from bench.analysis.paired import fmt_gap, fmt_p, paired
from bench.rows.metric import fmt_count

MERGED_OVERHEAD_PCT = 5.0  # "runs as fast as the base model": within the noise of a latency p50
MIXED_OVERHEAD_PCT = 10.0  # "expensive": more than 10 % lost against the base model
PAIRED_ALPHA = 0.05  # claim 7: a paired test (examples, else seeds) this significant decides "clearly lower"


def under_load(rows: list[dict]) -> tuple[dict[str, dict], str]:
    """The serve rows of the fleet that stands for the run (analysis/fleets.py) by strategy, and a label saying
    what was served; ({}, "") without serve rows."""
    fleet, fixed = reference_fleet(serve_rows(rows))
    if not fleet:
        return {}, ""
    label = (
        f"Under load ({fixed['model']}, N = {fixed['n_tasks']}, r = {fixed['rank']}, {fixed['popularity']} "
        f"popularity, {fixed['arrivals']} arrivals, p99 <= {fleet[0]['slo_ms']:.0f} ms)"
    )
    return {r["strategy"]: r for r in fleet if r.get("rate_vs_base") is not None}, label


def _rates(load: dict[str, dict], names) -> str:
    return ", ".join(f"{s} {load[s]['rate_vs_base']:.2f}x" for s in names if s in load)


def _unverified(load: dict[str, dict], names) -> tuple[str, ...]:
    """Evidence against reading a verdict from these strategies' rates at the SLO (each relative to the base
    model's, so the base model's rate counts too): empty when every one was validated within MAX_P99_ERR_PCT."""
    bad = unverified(load, ("base", *(s for s in names if s != "base")))
    if not bad:
        return ()
    by_why: dict[str, list[str]] = {}
    for s, why in bad:
        by_why.setdefault(why, []).append(s)
    reasons = "; ".join(f"{', '.join(ss)}: {why}" for why, ss in by_why.items())
    return (
        f"Unverified: a rate at the SLO is simulated, and is evidence only where the simulation's p99 latency was "
        f"checked against real time at that rate and erred by at most {MAX_P99_ERR_PCT:.0f} %. {reasons}.",
    )


def _validated(load: dict[str, dict], names) -> str:
    """The simulation's p99 errors behind rates a verdict reads (all verified)."""
    each = [(s, validation(load[s])) for s in ("base", *names) if s in load]
    return (
        "Validated against real time at 1.0x each rate read: "
        + ", ".join(f"{s} p99 {v.p99_err_pct:+.0f} % ({v.requests} requests)" for s, v in each)
        + "."
    )


def claim_merge(rows: list[dict]) -> Claim:
    """Merged LoRA serving one task (merge_swap at N = 1, per-batch times) against the base model: holds when
    not slower than base by more than MERGED_OVERHEAD_PCT, or not significantly slower (Mann-Whitney p >= 0.01)."""
    title, statement = (
        "Deployment merges",
        "W = W0 + B·A at load time: the merged model runs as fast as the base model.",
    )
    evidence = []
    for task, methods in by_task(rows).items():
        lora, base = methods.get("lora"), methods.get("head_only")
        if lora and base and lora.get("infer_latency_ms_p50") and base.get("infer_latency_ms_p50"):
            evidence.append(
                f"{task}: unmerged LoRA latency p50 {lora['infer_latency_ms_p50']:.2f} ms vs frozen base "
                f"(head_only) {base['infer_latency_ms_p50']:.2f} ms "
                f"({lora['infer_latency_ms_p50'] / base['infer_latency_ms_p50'] - 1:+.1%})."
            )
    merged, base = batch_samples(rows, "merge_swap", 1), batch_samples(rows, "base", 1)
    if not merged or not base:
        evidence.append(
            "Merged-vs-base serving is measured by the switching rows (merge_swap at N = 1); none in this run."
        )
        return Claim(4, title, statement, NOT_MEASURED, tuple(evidence))
    slower, p = slower_than(merged, base)
    evidence.append(
        f"merged LoRA (merge_swap, one task): {slower - 1:+.1%} time per batch vs base "
        f"(medians of {len(merged)} and {len(base)} batches; slower with p = {p:.2g})."
    )
    unmerged = batch_samples(rows, "set_adapter", 1)
    if unmerged:
        ru, pu = slower_than(unmerged, base)
        evidence.append(f"unmerged LoRA (set_adapter, one task): {ru - 1:+.1%} time per batch vs base (p = {pu:.2g}).")
    verdict = HOLDS if slower - 1 <= MERGED_OVERHEAD_PCT / 100 or p >= 0.01 else FAILS
    return Claim(4, title, statement, verdict, tuple(evidence))


def claim_one_task(rows: list[dict]) -> Claim:
    """Holds for merged weights; with caveats when a mixed-batch LoRA strategy serves several tasks per batch."""
    title, statement = (
        "One task at a time",
        "A merged LoRA model serves one task; another task means swapping parameter sets.",
    )
    sw = [r for r in ok_switch(rows) if r["strategy"] in SWAPPING_LORA and r.get("switch_ms_p50") is not None]
    load, label = under_load(rows)
    loaded = []
    if any(s in load for s in SWAPPING_LORA):
        loaded.append(
            f"{label}: requests/s at the SLO relative to the base model: "
            f"{_rates(load, SWAPPING_LORA)} (one task per batch, swapping)"
            + (
                f"; {_rates(load, MIXED_LORA)} (many tasks per batch, no swap)."
                if any(s in load for s in MIXED_LORA)
                else "."
            )
        )
    doubt = _unverified(load, SWAPPING_LORA + MIXED_LORA) if loaded else ()
    if not sw:
        if loaded:
            verdict = CAVEATS if any(s in load for s in MIXED_LORA) else HOLDS
            return Claim(5, title, statement, UNVERIFIED if doubt else verdict, tuple(loaded) + doubt)
        return Claim(
            5, title, statement, NOT_MEASURED, ("Needs switching rows (swap latency per strategy); none in this run.",)
        )
    per: dict[str, float] = {}
    for r in sw:
        per[r["strategy"]] = min(per.get(r["strategy"], float("inf")), r["switch_ms_p50"])
    evidence = [f"{s}: {ms:.2f} ms per swap (p50, best slice)" for s, ms in sorted(per.items(), key=lambda kv: kv[1])]
    evidence += loaded + [f"(Under load, not read for the verdict) {d}" for d in doubt]
    mixed = sorted({r["strategy"] for r in ok_switch(rows) if r["strategy"] in MIXED_LORA})
    if mixed:
        evidence.append(
            f"Caveat: {', '.join(mixed)} serve{'s' if len(mixed) == 1 else ''} many tasks in one batch with "
            "unmerged adapters and no swap at all (gates passed)."
        )
        return Claim(5, title, statement, CAVEATS, tuple(evidence))
    return Claim(5, title, statement, HOLDS, tuple(evidence))


def claim_mixed_traffic(rows: list[dict]) -> Claim:
    """At the largest N of a mixed stream: expensive for the best LoRA practice too -> holds; expensive only
    for swapping (the best mixed-batch LoRA within MIXED_OVERHEAD_PCT of base) -> does not hold."""
    title, statement = (
        "Mixed traffic is expensive",
        "Many adapters on one W0 and a mixed stream force repeated switching.",
    )
    view = [r for r in comparable_slice(rows) if r["strategy"] in SWAPPING_LORA + MIXED_LORA]
    if not view:
        return _mixed_traffic_under_load(rows, title, statement)
    n_max = max(r["n_tasks"] for r in view)
    at_max = sorted([r for r in view if r["n_tasks"] == n_max], key=lambda r: r["overhead_vs_base_pct"])
    base = at(comparable_slice(rows), "base", n_max)
    evidence = tuple(
        f"{r['strategy']} ({slice_label(r)}): {r['overhead_vs_base_pct']:+.1f} % time vs base "
        f"({fmt_spread(r, base)}), {r['requests_per_s']:.1f} requests/s"
        for r in at_max
    )
    loaded = _mixed_traffic_under_load(rows, title, statement)
    if loaded.verdict != NOT_MEASURED:
        evidence += tuple(e if loaded.verdict != UNVERIFIED else f"(Under load, not read) {e}" for e in loaded.evidence)
    best, worst = at_max[0], at_max[-1]
    lo, hi = overhead_range(best, base)
    if lo > MIXED_OVERHEAD_PCT:
        return Claim(6, title, statement, HOLDS, evidence)
    if hi > MIXED_OVERHEAD_PCT:  # the threshold lies inside the best strategy's spread
        return Claim(
            6,
            title,
            statement,
            UNDECIDED,
            evidence
            + (
                f"Cannot decide: {best['strategy']}'s {best['overhead_vs_base_pct']:+.1f} % against the base model "
                f"ranges {lo:+.1f} to {hi:+.1f} % over its repeats, across the {MIXED_OVERHEAD_PCT:.0f} % that "
                "makes mixed traffic expensive; a difference inside the spread is not evidence.",
            ),
        )
    if overhead_range(worst, base)[0] > MIXED_OVERHEAD_PCT:
        return Claim(
            6,
            title,
            statement,
            FAILS,
            evidence
            + (
                f"Expensive only when adapters are swapped: {best['strategy']} serves the mixed stream at "
                f"{best['overhead_vs_base_pct']:+.1f} % (S-LoRA / Punica practice).",
            ),
        )
    return Claim(6, title, statement, FAILS, evidence)


def _mixed_traffic_under_load(rows: list[dict], title: str, statement: str) -> Claim:
    """Claim 6 from serve rows alone: the best mixed-batch LoRA's rate at the SLO against the base model's
    (within MIXED_OVERHEAD_PCT: mixed traffic is expensive only for swapping) and the swapping strategies'."""
    load, label = under_load(rows)
    mixed = sorted((s for s in MIXED_LORA if s in load), key=lambda s: -load[s]["rate_vs_base"])
    swapping = [s for s in SWAPPING_LORA if s in load]
    if not mixed and not swapping:
        return Claim(
            6, title, statement, NOT_MEASURED, ("Needs mixed-task switching or serve rows; none in this run.",)
        )
    evidence = (f"{label}: requests/s at the SLO relative to the base model: {_rates(load, mixed + swapping)}.",)
    floor = 1 - MIXED_OVERHEAD_PCT / 100
    keeps_up = bool(mixed) and load[mixed[0]]["rate_vs_base"] >= floor
    # the rates the verdict reads (besides the base model's): the best mixed batch's when it keeps up; else
    # every mixed batch's (all fall behind), or the swapping strategies' when no mixed batch was served
    read = mixed[:1] if keeps_up else mixed or swapping
    doubt = _unverified(load, read)
    if doubt:
        return Claim(6, title, statement, UNVERIFIED, evidence + doubt)
    others = _unverified(load, [s for s in mixed + swapping if s not in read])
    evidence += (_validated(load, read),) + tuple(f"(Not read for the verdict) {d}" for d in others)
    if keeps_up:
        evidence += (f"Expensive only when adapters are swapped: {mixed[0]} keeps up with the base model under load.",)
        return Claim(6, title, statement, FAILS if swapping else CAVEATS, evidence)
    return Claim(6, title, statement, HOLDS, evidence)


def _paired_relation(c) -> tuple[str, str] | None:
    """(relation of prompt tuning to LoRA, evidence) from a paired comparison (gap = LoRA - prompt tuning),
    when it has a p-value: over test examples when the rows carry them, else over seeds."""

    p = c.p_examples if c.p_examples is not None else c.p_seeds
    if p is None:
        return None
    relation = ("clearly lower" if c.gap > 0 else "clearly higher") if p < PAIRED_ALPHA else "no significant difference"
    where = (
        f"{c.n_examples:,} test examples x {len(c.seeds)} seed(s)"
        if c.p_examples is not None
        else f"{len(c.seeds)} seeds"
    )
    return relation, (
        f"paired on seeds {', '.join(map(str, c.seeds))}: LoRA - prompt tuning {fmt_gap(c)} "
        f"(95 % CI from {c.ci_from}), p = {fmt_p(p)} over {where}"
        + (f", p = {fmt_p(c.p_seeds)} over seeds" if c.p_examples is not None and c.p_seeds is not None else "")
    )


def claim_prompt_tuning(rows: list[dict]) -> Claim:
    """Accuracy beside LoRA at the same budget decides first: clearly worse on every task -> does not hold; on
    some -> caveats. Otherwise it holds when mixed-prompt batches are measured as cheap. "Clearly worse": a
    paired test (bench/analysis/paired.py: over test examples, else over seeds) below PAIRED_ALPHA with LoRA ahead;
    without one (a single seed and no per-example results), disjoint 95 % intervals."""

    title, statement = (
        "Prompt tuning is the remedy",
        "One frozen model, a small soft prompt per task, mixed-task batches.",
    )
    evidence, worse, compared = [], [], 0
    pairs: dict[str, list] = {}
    for c in paired(rows, ("lora", "prompt_tuning")):
        pairs.setdefault(c.task, []).append(c)
    for task, methods in by_task(rows).items():
        pt, lora = methods.get("prompt_tuning"), methods.get("lora")
        if not pt or not lora or pt.get("accuracy") is None or lora.get("accuracy") is None:
            continue
        compared += 1
        tested = pairs.get(task, [])
        tested = _paired_relation(tested[0]) if len(tested) == 1 else None  # one model per task: one comparison
        if tested:
            relation, paired_text = tested
        else:
            relation, paired_text = (
                (
                    "clearly lower"
                    if disjoint_below(pt, lora)
                    else "intervals overlap"
                    if not disjoint_below(lora, pt)
                    else "clearly higher"
                ),
                "",
            )
        if relation == "clearly lower":
            worse.append(task)
        evidence.append(
            f"{task}: prompt tuning {fmt_acc(pt)} vs LoRA {fmt_acc(lora)} "
            f"({relation}{'; ' + paired_text if paired_text else ''}); "
            f"{fmt_count(pt['trainable_params'])} vs {fmt_count(lora['trainable_params'])} trainable; "
            f"{pt.get('virtual_tokens') or 0:.0f} virtual tokens per sequence; inference "
            f"{fmt_rate(pt.get('infer_tokens_per_s'))} vs {fmt_rate(lora.get('infer_tokens_per_s'))} tokens/s (batch 1)."
        )
    if not compared:
        return Claim(7, title, statement, NOT_MEASURED, ("Needs ok runs of both prompt_tuning and lora on one task.",))
    view = comparable_slice(rows)
    mixed = [r for r in view if r["strategy"] == "mixed_prompt_batch"]
    beaten_by_lora = False
    if mixed:
        r = max(mixed, key=lambda r: r["n_tasks"])
        evidence.append(
            f"mixed-prompt batches ({slice_label(r)}): {r['overhead_vs_base_pct']:+.1f} % time vs base, "
            f"{r.get('extra_tokens') or 0} virtual tokens processed."
        )
        g, base = at(view, "gathered_lora", r["n_tasks"]), at(view, "base", r["n_tasks"])
        if g:  # cheaper beyond the spread of the repeats: a difference inside it is not evidence
            beaten_by_lora = overhead_range(g, base)[1] < overhead_range(r, base)[0]
            evidence.append(
                f"gathered LoRA on the same mixed stream: {g['overhead_vs_base_pct']:+.1f} % time vs base "
                f"({fmt_spread(g, base)}; mixed prompts {fmt_spread(r, base)})"
                + (
                    " (cheaper than mixed prompts)."
                    if beaten_by_lora
                    else " (cannot tell which is cheaper: the spreads overlap)."
                    if g["overhead_vs_base_pct"] <= r["overhead_vs_base_pct"]
                    else "."
                )
            )
    load, label = under_load(rows)
    doubt = _unverified(load, ("mixed_prompt_batch", "gathered_lora"))
    if "mixed_prompt_batch" in load:
        evidence.append(
            f"{label}: mixed soft-prompt batches sustain "
            f"{load['mixed_prompt_batch']['rate_vs_base']:.2f}x the base model's request rate at the SLO"
            + (f", gathered LoRA {load['gathered_lora']['rate_vs_base']:.2f}x." if "gathered_lora" in load else ".")
        )
        evidence.extend(f"(Under load, not read for the verdict) {d}" for d in doubt)
        if not mixed and "gathered_lora" in load and not doubt:
            beaten_by_lora = load["gathered_lora"]["rate_vs_base"] >= load["mixed_prompt_batch"]["rate_vs_base"]
    elif not mixed:
        evidence.append("Mixed-prompt batch throughput is measured by the switching rows; none in this run.")
    if len(worse) == compared:
        verdict = FAILS
    elif worse or beaten_by_lora:
        verdict = FAILS if (worse and beaten_by_lora) else CAVEATS
        if worse:
            evidence.append(f"Clearly less accurate than LoRA at the same budget on {', '.join(worse)}.")
    elif mixed and all(r["overhead_vs_base_pct"] <= MIXED_OVERHEAD_PCT for r in mixed):
        verdict = HOLDS
    else:
        verdict = CAVEATS
    return Claim(7, title, statement, verdict, tuple(evidence))

"""The seven claims of the note the project started from (docs/claims.md), each decided from result rows
by a pure function.

A verdict is one of VERDICTS; the evidence is the numbers behind it, as sentences. A claim whose
measurement is not in the rows (switching rows, rank spectra) is "not measured in this run",
never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bench.analysis import health
from bench.analysis.aggregate import by_task, disjoint_below
from bench.analysis.evidence import (
    MIXED_LORA,
    SWAPPING_LORA,
    at,
    batch_samples,
    comparable_slice,
    fmt_acc,
    fmt_rate,
    ok_switch,
    ratio,
    slice_label,
    slower_than,
    spectra,
)
from bench.analysis.paired import fmt_gap, fmt_p, paired
from bench.rows.schema import fmt_bytes, fmt_count

HOLDS, CAVEATS, FAILS, NOT_MEASURED = "holds", "holds with caveats", "does not hold", "not measured in this run"
VERDICTS = (HOLDS, CAVEATS, FAILS, NOT_MEASURED)

PARAM_CUT = 0.90  # the note's example cuts 98 %; a LoRA that saves less than 90 % does not show the claim
MERGED_OVERHEAD_PCT = 5.0  # "runs as fast as the base model": within the noise of a latency p50
MIXED_OVERHEAD_PCT = 10.0  # "expensive": more than 10 % lost against the base model
PAIRED_ALPHA = 0.05  # claim 7: a paired test (examples, else seeds) this significant decides "clearly lower"


@dataclass(frozen=True)
class Claim:
    number: int
    title: str
    statement: str
    verdict: str
    evidence: tuple[str, ...] = ()


LOW_RANK_ENERGY = 0.8  # "low-rank": the top r = 8 directions (LoRA's default rank) carry 80 % of dW's energy
SPECTRUM_RANK = "8"


def claim_update(rows: list[dict]) -> Claim:
    """Measured where full fine-tuning recorded dW = W_ft - W0 for LoRA's target matrices."""
    title, statement = "Fine-tuning is an update", "W = W0 + dW."
    measured = spectra(rows)
    if not measured:
        return Claim(
            1,
            title,
            statement,
            NOT_MEASURED,
            ("Needs dW from full fine-tuning (rows with update_spectrum); none in this run.",),
        )
    evidence = tuple(
        f"{r['task']}: full fine-tuning moved LoRA's {r['update_spectrum']['matrices']} target matrices by "
        f"||dW|| / ||W0|| = {r['update_spectrum']['rel_norm_mean']:.2%} on average (seed {r.get('seed')})."
        for r in measured
    )
    return Claim(
        1,
        title,
        statement,
        HOLDS,
        evidence
        + (
            "Every fine-tuned weight is W0 plus a small dW; LoRA writes the same update as B·A, and merging it "
            "(W0 + B·A) gives the unmerged outputs (switching gates).",
        ),
    )


def claim_low_rank(rows: list[dict]) -> Claim:
    """Holds when the top 8 singular directions of dW carry LOW_RANK_ENERGY of its energy; with caveats when
    they do not but LoRA (rank 8 when there is one, else the highest rank run) still matches full fine-tuning's
    accuracy (intervals overlap)."""
    title, statement = "The update is low-rank", "dW = B·A with r much smaller than d and k."
    measured = spectra(rows)
    if not measured:
        return Claim(
            2,
            title,
            statement,
            NOT_MEASURED,
            ("Needs the singular values of dW from full fine-tuning (rows with update_spectrum); none in this run.",),
        )
    evidence, energies = [], []
    tasks = by_task(rows)
    matched, ranks = [], set()
    for r in measured:
        sp = r["update_spectrum"]
        e = sp["energy_top_mean"][SPECTRUM_RANK]
        energies.append(e)
        evidence.append(
            f"{r['task']}: top 8 of {sp['full_rank']} directions hold {e:.0%} of dW's energy "
            f"(top 1: {sp['energy_top_mean']['1']:.0%}, top 64: {sp['energy_top_mean']['64']:.0%}); "
            f"effective rank {sp['effective_rank_mean']:.1f}."
        )
        recs = tasks.get(r["task"], {})
        full = recs.get("full")
        loras = sorted(
            (x for x in recs.values() if x.get("base_method") == "lora" and x.get("accuracy") is not None),
            key=lambda x: x["method_params"].get("r", 0),
        )
        if len(loras) > 1:
            evidence.append(
                f"{r['task']}: LoRA accuracy by rank: "
                + ", ".join(f"r = {x['method_params'].get('r')} {x['accuracy']:.3f}" for x in loras)
                + "."
            )
        lora = next((x for x in loras if x["method_params"].get("r") == 8), loras[-1] if loras else None)
        if lora and full and full.get("accuracy") is not None:
            close = not disjoint_below(lora, full)
            matched.append(close)
            ranks.add(lora["method_params"].get("r"))
            evidence.append(
                f"{r['task']}: LoRA r = {lora['method_params'].get('r', '?')} {fmt_acc(lora)} vs full "
                f"fine-tuning {fmt_acc(full)} ({'intervals overlap' if close else 'clearly lower'})."
            )
    if min(energies) >= LOW_RANK_ENERGY:
        return Claim(2, title, statement, HOLDS, tuple(evidence))
    if matched and all(matched):
        rank = (
            ("a rank-" + "/".join(str(r) for r in sorted(ranks)) + " update") if None not in ranks else "LoRA's update"
        )
        return Claim(
            2,
            title,
            statement,
            CAVEATS,
            tuple(evidence)
            + (
                f"dW itself is not low-rank by energy, but {rank} reaches the same accuracy: the part that matters is.",
            ),
        )
    return Claim(2, title, statement, FAILS, tuple(evidence))


def claim_fewer_params(rows: list[dict]) -> Claim:
    """Holds when LoRA cuts trainable parameters by at least PARAM_CUT against full fine-tuning on every
    task and also needs less peak memory and trains faster; with caveats when only the count follows."""
    title, statement = (
        "Far fewer trainable parameters",
        "r·(d+k) instead of d·k: less memory to store, less compute to train.",
    )
    evidence, cut_ok, follows = [], [], []
    for task, methods in by_task(rows).items():
        lora, full = methods.get("lora"), methods.get("full")
        if not lora or not full or not full.get("trainable_params"):
            continue
        cut = 1 - lora["trainable_params"] / full["trainable_params"]
        cut_ok.append(cut >= PARAM_CUT)
        mem_ratio = ratio(lora.get("peak_mem_bytes"), full.get("peak_mem_bytes"))
        speed_ratio = ratio(lora.get("train_tokens_per_s"), full.get("train_tokens_per_s"))
        follows.append(mem_ratio is not None and mem_ratio < 1 and speed_ratio is not None and speed_ratio > 1)
        size = ratio(lora.get("adapter_bytes"), full.get("adapter_bytes"))
        evidence.append(
            f"{task}: LoRA trains {fmt_count(lora['trainable_params'])} of {fmt_count(full['trainable_params'])} "
            f"parameters ({cut:.1%} fewer); adapter {fmt_bytes(lora.get('adapter_bytes'))} vs "
            f"{fmt_bytes(full.get('adapter_bytes'))}"
            + (f" ({size:.2%})" if size is not None else "")
            + f"; peak memory {fmt_bytes(lora.get('peak_mem_bytes'))} vs {fmt_bytes(full.get('peak_mem_bytes'))}"
            + (f" ({mem_ratio:.2f}x)" if mem_ratio is not None else "")
            + f"; training {fmt_rate(lora.get('train_tokens_per_s'))} vs {fmt_rate(full.get('train_tokens_per_s'))} tokens/s"
            + (f" ({speed_ratio:.2f}x)" if speed_ratio is not None else "")
            + "."
        )
    if not cut_ok:
        return Claim(3, title, statement, NOT_MEASURED, ("Needs ok runs of both lora and full on one task.",))
    if not all(cut_ok):
        verdict = FAILS
    elif all(follows):
        verdict = HOLDS
    else:
        verdict = CAVEATS
        evidence.append(
            "The parameter cut holds, but peak memory or training speed does not follow it everywhere: "
            "activations and the frozen weights' forward and backward passes remain."
        )
    return Claim(3, title, statement, verdict, tuple(evidence))


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
    if not sw:
        return Claim(
            5, title, statement, NOT_MEASURED, ("Needs switching rows (swap latency per strategy); none in this run.",)
        )
    per: dict[str, float] = {}
    for r in sw:
        per[r["strategy"]] = min(per.get(r["strategy"], float("inf")), r["switch_ms_p50"])
    evidence = [f"{s}: {ms:.2f} ms per swap (p50, best slice)" for s, ms in sorted(per.items(), key=lambda kv: kv[1])]
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
        return Claim(6, title, statement, NOT_MEASURED, ("Needs mixed-task switching rows; none in this run.",))
    n_max = max(r["n_tasks"] for r in view)
    at_max = sorted([r for r in view if r["n_tasks"] == n_max], key=lambda r: r["overhead_vs_base_pct"])
    evidence = tuple(
        f"{r['strategy']} ({slice_label(r)}): {r['overhead_vs_base_pct']:+.1f} % time vs base, "
        f"{r['requests_per_s']:.1f} requests/s"
        for r in at_max
    )
    best, worst = at_max[0], at_max[-1]
    if best["overhead_vs_base_pct"] > MIXED_OVERHEAD_PCT:
        return Claim(6, title, statement, HOLDS, evidence)
    if worst["overhead_vs_base_pct"] > MIXED_OVERHEAD_PCT:
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
    paired test (bench/paired.py: over test examples, else over seeds) below PAIRED_ALPHA with LoRA ahead;
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
        g = at(view, "gathered_lora", r["n_tasks"])
        if g:
            beaten_by_lora = g["overhead_vs_base_pct"] <= r["overhead_vs_base_pct"]
            evidence.append(
                f"gathered LoRA on the same mixed stream: {g['overhead_vs_base_pct']:+.1f} % time vs base"
                + (" (cheaper than mixed prompts)." if beaten_by_lora else ".")
            )
    else:
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


CLAIMS = (
    claim_update,
    claim_low_rank,
    claim_fewer_params,
    claim_merge,
    claim_one_task,
    claim_mixed_traffic,
    claim_prompt_tuning,
)


def assess(rows: list[dict]) -> list[Claim]:
    """Each claim from the healthy rows only: a run the health checks flag (one class answered, loss rose)
    supports no verdict; a verdict reached without such runs says how many were left out."""
    flagged = {(w["task"], w["method"], w["seed"]) for w in health.warnings(rows)}
    healthy = [r for r in rows if (r.get("task"), r.get("method"), r.get("seed")) not in flagged]
    note = f"{len(rows) - len(healthy)} runs the health checks flag were left out (see the warnings)"
    claims = [decide(healthy) for decide in CLAIMS]
    if len(healthy) == len(rows):
        return claims
    return [replace(c, evidence=(*c.evidence, note)) for c in claims]

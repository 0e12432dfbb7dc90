"""The note's seven claims (../shared/CLAIMS.md), each decided from result rows by a pure function.

A verdict is one of VERDICTS; the evidence is the numbers behind it, as sentences. A claim whose
measurement is not in the rows (switching rows, rank spectra) is "not measured in this run",
never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.aggregate import by_task, disjoint_below, fmt_bytes, fmt_count, switch_rows

HOLDS, CAVEATS, FAILS, NOT_MEASURED = "holds", "holds with caveats", "does not hold", "not measured in this run"
VERDICTS = (HOLDS, CAVEATS, FAILS, NOT_MEASURED)

PARAM_CUT = 0.90  # the note's example cuts 98 %; a LoRA that saves less than 90 % does not show the claim
MERGED_OVERHEAD_PCT = 5.0  # "runs as fast as the base model": within the noise of a latency p50
MIXED_OVERHEAD_PCT = 10.0  # "expensive": more than 10 % lost against the base model


@dataclass(frozen=True)
class Claim:
    number: int
    title: str
    statement: str
    verdict: str
    evidence: tuple[str, ...] = ()


def _ok_switch(rows):
    return [r for r in switch_rows(rows) if r.get("status", "ok") == "ok"]


def _is_prompt(strategy: str) -> bool:
    return "prompt" in (strategy or "")


def claim_update(rows: list[dict]) -> Claim:
    return Claim(1, "Fine-tuning is an update", "W = W0 + dW.", NOT_MEASURED,
                 ("Needs dW from full fine-tuning (its difference from the pretrained weights); "
                  "the suite records no weight differences yet.",))


def claim_low_rank(rows: list[dict]) -> Claim:
    return Claim(2, "The update is low-rank", "dW = B·A with r much smaller than d and k.", NOT_MEASURED,
                 ("Needs the singular values of dW from full fine-tuning and LoRA at ranks 1..64 "
                  "(rank spectra); none are in these rows.",))


def claim_fewer_params(rows: list[dict]) -> Claim:
    """Holds when LoRA cuts trainable parameters by at least PARAM_CUT against full fine-tuning on every
    task and also needs less peak memory and trains faster; with caveats when only the count follows."""
    title, statement = "Far fewer trainable parameters", "r·(d+k) instead of d·k: less memory to store, less compute to train."
    evidence, cut_ok, follows = [], [], []
    for task, methods in by_task(rows).items():
        lora, full = methods.get("lora"), methods.get("full")
        if not lora or not full or not full.get("trainable_params"):
            continue
        cut = 1 - lora["trainable_params"] / full["trainable_params"]
        cut_ok.append(cut >= PARAM_CUT)
        mem_ratio = _ratio(lora.get("peak_mem_bytes"), full.get("peak_mem_bytes"))
        speed_ratio = _ratio(lora.get("train_tokens_per_s"), full.get("train_tokens_per_s"))
        follows.append(mem_ratio is not None and mem_ratio < 1 and speed_ratio is not None and speed_ratio > 1)
        size = _ratio(lora.get("adapter_bytes"), full.get("adapter_bytes"))
        evidence.append(
            f"{task}: LoRA trains {fmt_count(lora['trainable_params'])} of {fmt_count(full['trainable_params'])} "
            f"parameters ({cut:.1%} fewer); adapter {fmt_bytes(lora.get('adapter_bytes'))} vs "
            f"{fmt_bytes(full.get('adapter_bytes'))}" + (f" ({size:.2%})" if size is not None else "") +
            f"; peak memory {fmt_bytes(lora.get('peak_mem_bytes'))} vs {fmt_bytes(full.get('peak_mem_bytes'))}"
            + (f" ({mem_ratio:.2f}x)" if mem_ratio is not None else "") +
            f"; training {_fmt_rate(lora.get('train_tokens_per_s'))} vs {_fmt_rate(full.get('train_tokens_per_s'))} tokens/s"
            + (f" ({speed_ratio:.2f}x)" if speed_ratio is not None else "") + ".")
    if not cut_ok:
        return Claim(3, title, statement, NOT_MEASURED, ("Needs ok runs of both lora and full on one task.",))
    if not all(cut_ok):
        verdict = FAILS
    elif all(follows):
        verdict = HOLDS
    else:
        verdict = CAVEATS
        evidence.append("The parameter cut holds, but peak memory or training speed does not follow it everywhere: "
                        "activations and the frozen weights' forward and backward passes remain.")
    return Claim(3, title, statement, verdict, tuple(evidence))


def claim_merge(rows: list[dict]) -> Claim:
    """Needs a merged-LoRA serving measurement (a switching strategy named *merge*) against the base model."""
    title, statement = "Deployment merges", "W = W0 + B·A at load time: the merged model runs as fast as the base model."
    merged = [r for r in _ok_switch(rows) if "merge" in (r.get("strategy") or "") and r.get("overhead_vs_base_pct") is not None]
    evidence = []
    for task, methods in by_task(rows).items():
        lora, base = methods.get("lora"), methods.get("head_only")
        if lora and base and lora.get("infer_latency_ms_p50") and base.get("infer_latency_ms_p50"):
            evidence.append(f"{task}: unmerged LoRA latency p50 {lora['infer_latency_ms_p50']:.2f} ms vs frozen base "
                            f"(head_only) {base['infer_latency_ms_p50']:.2f} ms "
                            f"({lora['infer_latency_ms_p50'] / base['infer_latency_ms_p50'] - 1:+.1%}).")
    if not merged:
        evidence.append("Merged-vs-base serving is measured by the switching rows; none in this run.")
        return Claim(4, title, statement, NOT_MEASURED, tuple(evidence))
    worst = max(merged, key=lambda r: r["overhead_vs_base_pct"])
    evidence.append(f"merged ({worst['strategy']}, N={worst.get('n_tasks')}): {worst['overhead_vs_base_pct']:+.1f} % vs base.")
    verdict = HOLDS if worst["overhead_vs_base_pct"] <= MERGED_OVERHEAD_PCT else FAILS
    return Claim(4, title, statement, verdict, tuple(evidence))


def claim_one_task(rows: list[dict]) -> Claim:
    """Holds when every LoRA strategy pays a swap; with caveats when one serves several tasks with no swap."""
    title, statement = "One task at a time", "A merged LoRA model serves one task; another task means swapping parameter sets."
    lora = [r for r in _ok_switch(rows) if not _is_prompt(r.get("strategy")) and r.get("switch_ms_p50") is not None]
    if not lora:
        return Claim(5, title, statement, NOT_MEASURED, ("Needs switching rows (swap latency per strategy); none in this run.",))
    per = {}
    for r in lora:
        per[r["strategy"]] = min(per.get(r["strategy"], float("inf")), r["switch_ms_p50"])
    evidence = [f"{s}: {ms:.2f} ms per switch (p50)" for s, ms in sorted(per.items(), key=lambda kv: kv[1])]
    free = [s for s, ms in per.items() if ms <= 0]
    if free:
        return Claim(5, title, statement, CAVEATS,
                     tuple(evidence + [f"Only for merged weights: {', '.join(sorted(free))} serves tasks without a swap."]))
    return Claim(5, title, statement, HOLDS, tuple(evidence))


def claim_mixed_traffic(rows: list[dict]) -> Claim:
    """At the largest N: expensive against the best LoRA practice -> holds; only for the naive ones -> caveats."""
    title, statement = "Mixed traffic is expensive", "Many adapters on one W0 and a mixed stream force repeated switching."
    lora = [r for r in _ok_switch(rows) if not _is_prompt(r.get("strategy")) and r.get("overhead_vs_base_pct") is not None]
    if not lora:
        return Claim(6, title, statement, NOT_MEASURED, ("Needs mixed-task switching rows; none in this run.",))
    n_max = max(r.get("n_tasks") or 0 for r in lora)
    at_max = [r for r in lora if (r.get("n_tasks") or 0) == n_max]
    best = min(at_max, key=lambda r: r["overhead_vs_base_pct"])
    worst = max(at_max, key=lambda r: r["overhead_vs_base_pct"])
    evidence = tuple(f"{r['strategy']} at N={n_max}: {r['overhead_vs_base_pct']:+.1f} % vs base"
                     + (f", {r['requests_per_s']:.1f} requests/s" if r.get("requests_per_s") is not None else "")
                     for r in sorted(at_max, key=lambda r: r["overhead_vs_base_pct"]))
    if best["overhead_vs_base_pct"] > MIXED_OVERHEAD_PCT:
        return Claim(6, title, statement, HOLDS, evidence)
    if worst["overhead_vs_base_pct"] > MIXED_OVERHEAD_PCT:
        return Claim(6, title, statement, CAVEATS, evidence + (
            f"Only without batching practice: {best['strategy']} keeps the overhead at {best['overhead_vs_base_pct']:+.1f} %.",))
    return Claim(6, title, statement, FAILS, evidence)


def claim_prompt_tuning(rows: list[dict]) -> Claim:
    """Accuracy beside LoRA at the same budget decides first: clearly worse (intervals disjoint) on every task
    -> does not hold; on some -> caveats. Otherwise it holds when mixed-prompt batches are measured as cheap."""
    title, statement = "Prompt tuning is the remedy", "One frozen model, a small soft prompt per task, mixed-task batches."
    evidence, worse, compared = [], [], 0
    for task, methods in by_task(rows).items():
        pt, lora = methods.get("prompt_tuning"), methods.get("lora")
        if not pt or not lora or pt.get("accuracy") is None or lora.get("accuracy") is None:
            continue
        compared += 1
        clearly = disjoint_below(pt, lora)
        if clearly:
            worse.append(task)
        evidence.append(
            f"{task}: prompt tuning {_fmt_acc(pt)} vs LoRA {_fmt_acc(lora)} "
            f"({'clearly lower' if clearly else 'intervals overlap' if not disjoint_below(lora, pt) else 'clearly higher'}); "
            f"{fmt_count(pt['trainable_params'])} vs {fmt_count(lora['trainable_params'])} trainable; "
            f"{pt.get('virtual_tokens') or 0:.0f} virtual tokens per sequence; inference "
            f"{_fmt_rate(pt.get('infer_tokens_per_s'))} vs {_fmt_rate(lora.get('infer_tokens_per_s'))} tokens/s (batch 1).")
    if not compared:
        return Claim(7, title, statement, NOT_MEASURED, ("Needs ok runs of both prompt_tuning and lora on one task.",))
    mixed = [r for r in _ok_switch(rows) if _is_prompt(r.get("strategy")) and r.get("overhead_vs_base_pct") is not None]
    if mixed:
        r = max(mixed, key=lambda r: r.get("n_tasks") or 0)
        evidence.append(f"mixed-prompt batches ({r['strategy']}, N={r.get('n_tasks')}): {r['overhead_vs_base_pct']:+.1f} % vs base"
                        + (f", {r['extra_tokens']} extra tokens" if r.get("extra_tokens") is not None else "") + ".")
    else:
        evidence.append("Mixed-prompt batch throughput is measured by the switching rows; none in this run.")
    if len(worse) == compared:
        verdict = FAILS
    elif worse:
        verdict = CAVEATS
        evidence.append(f"Clearly less accurate than LoRA at the same budget on {', '.join(worse)}.")
    elif mixed and all(r["overhead_vs_base_pct"] <= MIXED_OVERHEAD_PCT for r in mixed):
        verdict = HOLDS
    else:
        verdict = CAVEATS
    return Claim(7, title, statement, verdict, tuple(evidence))


CLAIMS = (claim_update, claim_low_rank, claim_fewer_params, claim_merge, claim_one_task, claim_mixed_traffic,
          claim_prompt_tuning)


def assess(rows: list[dict]) -> list[Claim]:
    return [decide(rows) for decide in CLAIMS]


def _ratio(a, b):
    return a / b if a is not None and b else None


def _fmt_rate(v) -> str:
    return "-" if v is None else f"{v:,.0f}"


def _fmt_acc(rec: dict) -> str:
    if rec.get("accuracy_ci_low") is None:
        return f"{rec['accuracy']:.3f}"
    return f"{rec['accuracy']:.3f} [{rec['accuracy_ci_low']:.3f}, {rec['accuracy_ci_high']:.3f}]"

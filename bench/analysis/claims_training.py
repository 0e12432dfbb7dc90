"""Claims 1-3 of docs/claims.md, each decided from result rows by a pure function: what fine-tuning changes
(an update dW), its rank, and how much less LoRA trains. Thresholds are the named constants below."""

from __future__ import annotations

from bench.analysis.aggregate import by_task, disjoint_below
from bench.analysis.evidence import CAVEATS, FAILS, HOLDS, NOT_MEASURED, Claim, fmt_acc, fmt_rate, ratio, spectra
from bench.rows.memory import OWN_PEAK, fmt_bytes
from bench.rows.metric import fmt_count

PARAM_CUT = 0.90  # the note's example cuts 98 %; a LoRA that saves less than 90 % does not show the claim
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
        mem_ratio = ratio(lora.get(OWN_PEAK), full.get(OWN_PEAK))  # the run's own (bench/rows/memory.py)
        speed_ratio = ratio(lora.get("train_tokens_per_s"), full.get("train_tokens_per_s"))
        follows.append(mem_ratio is not None and mem_ratio < 1 and speed_ratio is not None and speed_ratio > 1)
        size = ratio(lora.get("adapter_bytes"), full.get("adapter_bytes"))
        evidence.append(
            f"{task}: LoRA trains {fmt_count(lora['trainable_params'])} of {fmt_count(full['trainable_params'])} "
            f"parameters ({cut:.1%} fewer); adapter {fmt_bytes(lora.get('adapter_bytes'))} vs "
            f"{fmt_bytes(full.get('adapter_bytes'))}"
            + (f" ({size:.2%})" if size is not None else "")
            + f"; the run's own peak memory {fmt_bytes(lora.get(OWN_PEAK))} vs {fmt_bytes(full.get(OWN_PEAK))}"
            + (f" ({mem_ratio:.2f}x)" if mem_ratio is not None else "")
            + f" (process peak less what was resident before the model; whole process "
            f"{fmt_bytes(lora.get('peak_mem_bytes'))} vs {fmt_bytes(full.get('peak_mem_bytes'))})"
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

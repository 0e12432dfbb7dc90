"""The claims' verdicts as pure functions of rows (bench/analysis/claims.py), each claim's paths; claims only from
healthy runs: a run the health checks flag supports no verdict."""

from __future__ import annotations

from bench.analysis import claims
from bench.analysis.claims import assess
from bench.render.html import render
from tests.render.test_html import BASE_MS, ROWS, SWITCH, run_row, switch_row


def fewer_params(rows):
    return next(c for c in assess(rows) if c.number == 3)


def verdicts(rows) -> dict[int, str]:
    return {c.number: c.verdict for c in claims.assess(rows)}


def test_claims_without_switching_rows():
    v = verdicts(ROWS)
    assert v[1] == v[2] == v[4] == v[5] == v[6] == claims.NOT_MEASURED
    assert v[3] == claims.HOLDS  # 99.7 % fewer params, less memory, faster training
    assert v[7] == claims.CAVEATS  # clearly below LoRA on rotten_tomatoes, not on debates_party
    assert verdicts([run_row("t", "head_only")])[3] == claims.NOT_MEASURED


def test_claim_3_paths():
    assert claims.claim_fewer_params([run_row("t", m) for m in ("lora", "full")]).verdict == claims.HOLDS
    more_mem = [run_row("t", "lora", peak_mem_bytes=2 * 10**9), run_row("t", "full")]
    assert claims.claim_fewer_params(more_mem).verdict == claims.CAVEATS
    big = [run_row("t", "lora", trainable_params=5_000_000), run_row("t", "full")]
    c = claims.claim_fewer_params(big)
    assert c.verdict == claims.FAILS and "78.0% fewer" in c.evidence[0]


def test_claim_7_paths():
    same = [
        run_row("t", "lora"),
        run_row("t", "prompt_tuning", accuracy=0.70, accuracy_ci_low=0.67, accuracy_ci_high=0.73),
    ]
    assert claims.claim_prompt_tuning(same).verdict == claims.CAVEATS  # accuracy holds; mixed batches not measured
    assert claims.claim_prompt_tuning(same + SWITCH).verdict == claims.HOLDS
    worse = [run_row("t", "lora"), run_row("t", "prompt_tuning")]
    assert claims.claim_prompt_tuning(worse).verdict == claims.FAILS
    assert claims.claim_prompt_tuning([run_row("t", "lora")]).verdict == claims.NOT_MEASURED


def test_claims_4_5_6_from_switching_rows():
    v = verdicts(ROWS + SWITCH)
    assert v[4] == claims.FAILS  # merged batches 20 % slower than base, every sample: significant
    assert v[5] == claims.CAVEATS  # gathered_lora serves several tasks without a swap
    assert v[6] == claims.FAILS  # expensive for merge_swap only; gathered_lora +8 %: not against best practice
    cheap_merge = [
        switch_row("merge_swap", 1, 100, 2.0, switch_ms=30, batch_ms_samples=[1.02 * x for x in BASE_MS]),
        switch_row("base", 1, 102, 0.0, switch_ms=0.0, batch_ms_samples=BASE_MS),
    ]
    assert claims.claim_merge(cheap_merge).verdict == claims.HOLDS
    assert claims.claim_one_task(cheap_merge).verdict == claims.HOLDS
    all_expensive = [switch_row("merge_swap", 8, 10, 50.0), switch_row("gathered_lora", 8, 20, 25.0)]
    assert claims.claim_mixed_traffic(all_expensive).verdict == claims.HOLDS
    all_cheap = [switch_row("gathered_lora", 8, 20, 3.0)]
    assert claims.claim_mixed_traffic(all_cheap).verdict == claims.FAILS


def _spectrum(e8: float) -> dict:
    return {
        "matrices": 12,
        "energy_top_mean": {"1": e8 / 3, "8": e8, "64": min(1.0, e8 + 0.2)},
        "effective_rank_mean": 40.0,
        "rel_norm_mean": 0.012,
        "full_rank": 384,
        "per_matrix": {"q": {"singular_values": [1.0, 0.6, 0.3, 0.1]}, "v": {"singular_values": [1.0, 0.5, 0.2, 0.1]}},
    }


def test_claims_1_and_2_from_update_spectra():
    assert claims.claim_update(ROWS).verdict == claims.NOT_MEASURED
    low = [run_row("t", "lora"), run_row("t", "full", update_spectrum=_spectrum(0.92))]
    assert claims.claim_update(low).verdict == claims.HOLDS
    assert claims.claim_low_rank(low).verdict == claims.HOLDS
    spread = [run_row("t", "lora", accuracy=0.75), run_row("t", "full", accuracy=0.76, update_spectrum=_spectrum(0.3))]
    assert claims.claim_low_rank(spread).verdict == claims.CAVEATS  # not low-rank by energy, yet rank 8 suffices
    r16 = [run_row("t", "lora", accuracy=0.75, method_params={"lr": 1e-3, "r": 16}), spread[1]]
    assert "but a rank-16 update reaches the same accuracy" in claims.claim_low_rank(r16).evidence[-1]
    worse = [
        run_row("t", "lora", accuracy=0.60, accuracy_ci_low=0.57, accuracy_ci_high=0.63),
        run_row(
            "t", "full", accuracy=0.80, accuracy_ci_low=0.78, accuracy_ci_high=0.82, update_spectrum=_spectrum(0.3)
        ),
    ]
    assert claims.claim_low_rank(worse).verdict == claims.FAILS
    html = render(low)
    assert "Spectrum of the full fine-tuning update dW" in html and "top 8 of 384 directions hold 92%" in html


def serve_row(strategy: str, rate_vs_base: float, n: int = 64, p99_err: float | None = 5.0) -> dict:
    return {
        "kind": "serve",
        "status": "ok",
        "model": "shape:llama-3.2-1b",
        "layers": 2,
        "rank": 16,
        "n_tasks": n,
        "popularity": "zipf",
        "arrivals": "poisson",
        "strategy": strategy,
        "mixed": strategy not in ("merge_swap", "set_adapter", "hotswap"),
        "slo_ms": 3000.0,
        "rate_at_slo_rps": 40 * rate_vs_base,
        "rate_vs_base": rate_vs_base,
        "sim_p99_err_pct": p99_err,  # validated at 1.0x the rate on p99 (None: never)
        "sim_p99_requests": 200 if p99_err is not None else None,
    }


def test_claims_5_6_7_under_load_from_serve_rows():
    keeps_up = [
        serve_row(s, x)
        for s, x in (("base", 1.0), ("merge_swap", 0.39), ("set_adapter", 0.58), ("gathered_lora", 1.13))
    ]
    keeps_up += [serve_row("mixed_prompt_batch", 0.5)]
    v = {c.number: c for c in claims.assess(ROWS + keeps_up)}
    assert v[5].verdict == claims.CAVEATS and "merge_swap 0.39x" in v[5].evidence[0]
    assert "Under load (shape:llama-3.2-1b, N = 64, r = 16" in v[5].evidence[0]
    assert v[6].verdict == claims.FAILS and "gathered_lora 1.13x" in v[6].evidence[0]  # expensive only when swapping
    assert any("mixed soft-prompt batches sustain 0.50x" in e for e in v[7].evidence)
    assert v[7].verdict == claims.FAILS  # less accurate on one task (see ROWS), and gathered LoRA keeps up better
    slow = [serve_row(s, x) for s, x in (("base", 1.0), ("merge_swap", 0.3), ("gathered_lora", 0.6))]
    assert verdicts(ROWS + slow)[6] == claims.HOLDS  # even the mixed batch falls behind: expensive
    only_swapping = [serve_row(s, x) for s, x in (("base", 1.0), ("merge_swap", 0.3))]
    assert verdicts(ROWS + only_swapping)[5] == claims.HOLDS
    # beside switching rows, the serve rows add evidence and leave the switching verdicts as they are
    with_switch = {c.number: c for c in claims.assess(ROWS + SWITCH + keeps_up)}
    assert with_switch[6].verdict == verdicts(ROWS + SWITCH)[6]
    assert any("Under load" in e for e in with_switch[6].evidence)


def test_claims_under_load_rest_only_on_rates_the_simulation_was_validated_at():
    rows = lambda **errs: [  # noqa: E731
        serve_row(s, x, p99_err=errs.get(s, 5.0))
        for s, x in (("base", 1.0), ("merge_swap", 0.39), ("gathered_lora", 1.13), ("mixed_prompt_batch", 0.5))
    ]
    assert verdicts(ROWS + rows())[6] == claims.FAILS  # every rate within 25 %: the verdict stands
    assert verdicts(ROWS + rows(gathered_lora=24.0))[6] == claims.FAILS
    # claim 6 reads the best mixed batch's rate (it keeps up) and the base model's: another's error is a note
    swap_off = {c.number: c for c in claims.assess(ROWS + rows(merge_swap=97.0))}
    assert swap_off[6].verdict == claims.FAILS and "(Not read for the verdict)" in " ".join(swap_off[6].evidence)
    assert swap_off[5].verdict == claims.UNVERIFIED  # claim 5's evidence is the swapping strategies' rates
    off = {c.number: c for c in claims.assess(ROWS + rows(gathered_lora=-40.0))}
    assert off[6].verdict == claims.UNVERIFIED and off[5].verdict == claims.UNVERIFIED
    assert "gathered_lora: simulated p99 -40 % off real time" in off[6].evidence[-1]
    assert "beyond 25 %" in off[6].evidence[-1] and "base" not in off[6].evidence[-1].split(".")[-2]
    # the base model's rate is in every ratio: its error counts as much as the strategy's
    assert verdicts(ROWS + rows(base=30.0))[6] == claims.UNVERIFIED
    never = {c.number: c for c in claims.assess(ROWS + rows(gathered_lora=None))}
    assert never[6].verdict == claims.UNVERIFIED and "gathered_lora: never validated" in never[6].evidence[-1]
    # claim 7 does not read an unverified comparison under load, and says so
    assert any("not read for the verdict" in e for e in never[7].evidence)


def test_the_committed_serve_rows_state_no_verdict_their_validation_does_not_support():
    from pathlib import Path

    from bench.rows.store import read_rows

    rows = read_rows(Path(__file__).resolve().parents[2] / "results/serving/serve-cpu-n16-n256.jsonl")
    v = {c.number: c for c in claims.assess(rows)}
    for n in (5, 6):  # validated at 0.5x and 0.8x on p50 only: neither holds nor fails
        assert v[n].verdict == claims.UNVERIFIED, n
        assert "never validated at 1.0x its rate on p99" in v[n].evidence[-1]
    assert claims.FAILS not in {c.verdict for c in v.values()} and claims.HOLDS not in {c.verdict for c in v.values()}


def test_a_switching_difference_inside_the_spread_of_its_repeats_decides_nothing():
    base = switch_row("base", 8, 100, 0.0, total_ms_samples=[99.0, 100.0, 101.0])
    narrow = switch_row("gathered_lora", 8, 95, 5.0, total_ms_samples=[104.0, 105.0, 106.0])  # +3.0 to +7.1 %
    wide = switch_row("gathered_lora", 8, 92, 8.0, total_ms_samples=[95.0, 108.0, 125.0])  # -5.9 to +26.3 %
    swap = switch_row("merge_swap", 8, 30, 200.0, total_ms_samples=[290.0, 300.0, 310.0])
    sure = claims.claim_mixed_traffic([base, narrow, swap])
    assert sure.verdict == claims.FAILS and "spread over 3 repeats +3.0 to +7.1 %" in " ".join(sure.evidence)
    c = claims.claim_mixed_traffic([base, wide, swap])
    assert c.verdict == claims.UNDECIDED and c.evidence[-1].startswith("Cannot decide")
    assert "-5.9 to +26.3 %" in c.evidence[-1]

"""The deployment decision on hand-built rows: which strategies serve which method, the constraints, the
recommendation and its runner-up, missing evidence, and bad input."""

from __future__ import annotations

import pytest

from bench.errors import BenchError
from bench.serving import deploy
from bench.serving.deploy import Constraints, decide, pairs, parse_bytes, rate_at

MODEL = "smollm2-135m"
N_EX = 400


def run_row(method: str, correct: str, model: str = MODEL, task: str = "rotten_tomatoes", **kw) -> dict:
    acc = correct.count("1") / len(correct)
    return {
        "schema_version": 1,
        "kind": "run",
        "status": "ok",
        "run_id": f"run-{method}",
        "model": model,
        "task": task,
        "method": method,
        "seed": 0,
        "accuracy": acc,
        "accuracy_ci_low": acc - 0.03,
        "accuracy_ci_high": acc + 0.03,
        "test_correct": correct,
        "train_steps": 0 if method == "zero_shot" else 32,
        **kw,
    }


def serve_row(strategy: str, n: int, rate: float, batch_ms: float = 100.0, model: str = MODEL, **kw) -> dict:
    mixed = strategy in ("base", "peft_mixed_batch", "gathered_lora", "mixed_prompt_batch")
    return {
        "schema_version": 1,
        "kind": "serve",
        "status": "ok",
        "run_id": f"serve-{strategy}-{n}",
        "model": model,
        "strategy": strategy,
        "mixed": mixed,
        "n_tasks": n,
        "slo_ms": 1000.0,
        "rate_at_slo_rps": rate,
        "max_batch": 8,
        "max_wait_ms": 0.0,
        "service_ms": {"1,1": batch_ms / 4, "8,1": batch_ms, **({"8,8": batch_ms * 1.2} if mixed else {})},
        "swap_ms_p50": None if mixed else 20.0,
        "adapter_bytes_resident": 0 if strategy == "base" else n * 1_000_000,
        "model_bytes": 500_000_000,
        "sim_requests": 400,
        "arrivals": "poisson",
        "cv": 1.0,
        "popularity": "zipf",
        "serve": {"alpha": 1.0, "seed": 0},
        "weights": "pretrained",
        "rank": 8,
        "hidden_size": 576,
        "layers": None,
        "dtype": "fp32",
        "targets": "peft default",
        "tokens_per_request": 40,
        "batch_ms_full": batch_ms,
        "validation": [],
        "curve": [],
        **kw,
    }


def answers(right: int, shift: int = 0) -> str:
    """N_EX answers, `right` of them right, starting `shift` examples in (two vectors overlap accordingly)."""
    bits = ["0"] * N_EX
    for i in range(right):
        bits[(i + shift) % N_EX] = "1"
    return "".join(bits)


SERVED = {
    "base": 30.0,
    "merge_swap": 5.0,
    "set_adapter": 6.0,
    "hotswap": 7.0,
    "peft_mixed_batch": 8.0,
    "gathered_lora": 20.0,
    "prompt_swap": 4.0,
    "mixed_prompt_batch": 18.0,
}


def rows(lora_right=340, pt_right=336, zs_right=300, ns=(16, 64), served=SERVED, extra=()) -> list[dict]:
    out = [
        run_row("zero_shot", answers(zs_right)),
        run_row("lora", answers(lora_right)),
        run_row("prompt_tuning", answers(pt_right)),
        *extra,
    ]
    return out + [serve_row(s, n, rate) for n in ns for s, rate in served.items()]


def by_name(ps):
    return {p.name: p for p in ps}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2GB", 2 * 10**9),
        ("2 gb", 2 * 10**9),
        ("512MiB", 512 * 2**20),
        ("1.5GiB", int(1.5 * 2**30)),
        ("2e9", 2 * 10**9),
        ("100", 100),
    ],
)
def test_memory_sizes_parse(text, value):
    assert parse_bytes(text) == value


@pytest.mark.parametrize("text", ["two", "2 parsecs", "", "-1GB", "0", "GB", "1e400", "2GBs", "2 G B"])
def test_memory_in_a_wrong_unit_is_one_line(text):
    with pytest.raises(BenchError, match="--memory: expected a size in bytes"):
        parse_bytes(text)


def test_each_method_pairs_with_the_strategies_that_can_serve_it():
    ps = pairs(rows(), Constraints(tasks_n=16, rate=1.0))
    names = [p.name for p in ps]
    lora = [n for n in names if n.startswith("lora + ")]
    assert lora == [
        f"lora + {s}" for s in ("merge_swap", "set_adapter", "hotswap", "peft_mixed_batch", "gathered_lora")
    ]
    assert [n for n in names if n.startswith("prompt_tuning + ")] == [
        "prompt_tuning + prompt_swap",
        "prompt_tuning + mixed_prompt_batch",
    ]
    assert "zero_shot + base" in names
    full = by_name(ps)["full + model_copies"]  # no run of full fine-tuning: said, with the command
    assert full.accuracy is None and "no run of full: python -m bench run" in full.missing and not full.meets


def test_model_copies_hold_n_models_and_never_mix_tasks():
    c = Constraints(tasks_n=64, rate=1.0, slo_ms=500.0)  # another SLO: both rates searched on the same times
    ps = by_name(pairs(rows(extra=[run_row("full", answers(345))]), c))
    copies, base = ps["full + model_copies"], ps["zero_shot + base"]
    assert copies.memory == 64 * 500_000_000
    assert base.memory == 500_000_000
    assert 0 < copies.rate < base.rate  # one task per batch: fewer requests share a batch than mixed ones


def test_a_strategy_without_serve_rows_at_n_is_missing_with_the_serve_command():
    served = {k: v for k, v in SERVED.items() if k != "prompt_swap"}
    ps = by_name(pairs(rows(served=served), Constraints(tasks_n=16, rate=1.0), runs_file="r.jsonl"))
    miss = ps["prompt_tuning + prompt_swap"].missing
    assert (
        "no serve row of prompt_swap at N = 16" in miss and "--strategies prompt_swap --adapters-from r.jsonl" in miss
    )
    assert ps["prompt_tuning + prompt_swap"].rate is None  # never guessed


def test_an_unserved_n_below_the_largest_is_missing_not_guessed():
    ps = pairs(rows(ns=(16, 256)), Constraints(tasks_n=64, rate=1.0))
    assert all(p.missing for p in ps) and all(p.rate is None for p in ps)
    d = decide(rows(ns=(16, 256)), Constraints(tasks_n=64, rate=1.0))
    assert d.exit_code == 1 and d.chosen is None


def test_n_beyond_the_served_numbers_is_bad_input_naming_the_largest():
    with pytest.raises(BenchError, match="largest served N: 64"):
        pairs(rows(), Constraints(tasks_n=256, rate=1.0))


def test_run_rows_of_one_model_with_serve_rows_of_another_is_one_line_naming_both():
    mixed = rows()[:3] + [serve_row("base", 16, 30.0, model="minilm")]
    with pytest.raises(BenchError, match="run rows of smollm2-135m with serve rows of minilm"):
        pairs(mixed, Constraints(tasks_n=16, rate=1.0))


def test_accuracy_ties_go_to_the_higher_rate():
    """LoRA 340/400 and prompt tuning 336/400 on overlapping examples: McNemar cannot tell them apart, so the
    faster pair wins: LoRA's gathered batches (20 req/s) over prompt tuning's mixed batches (18)."""
    d = decide(rows(), Constraints(tasks_n=16, rate=10.0))
    assert d.exit_code == 0
    assert d.chosen.name == "lora + gathered_lora"
    assert d.runner_up.name == "prompt_tuning + mixed_prompt_batch"
    assert "cannot separate" in d.separation and "rate ratio 1.11x" in d.separation


def test_a_clearly_more_accurate_method_wins_over_a_faster_one():
    """Prompt tuning right on 300, LoRA on 380 of the same examples: the paired test separates them."""
    d = decide(rows(lora_right=380, pt_right=300), Constraints(tasks_n=16, rate=10.0))
    assert d.chosen.name == "lora + gathered_lora"
    ps = by_name(d.pairs)
    assert ps["prompt_tuning + mixed_prompt_batch"].p < 0.05
    fast = decide(rows(lora_right=300, pt_right=380), Constraints(tasks_n=16, rate=10.0))
    assert fast.chosen.name == "prompt_tuning + mixed_prompt_batch"
    # the rest are clearly less accurate: the runner-up is the most accurate of them, then the fastest
    assert fast.runner_up.name == "zero_shot + base"
    assert "the test separates them" in fast.separation


def test_the_accuracy_floor_and_the_memory_limit_exclude_pairs():
    d = decide(rows(), Constraints(tasks_n=16, rate=1.0, min_accuracy=0.845))
    assert d.chosen.method == "lora"
    assert "accuracy 0.840" in " ".join(by_name(d.pairs)["prompt_tuning + mixed_prompt_batch"].misses)
    d = decide(rows(), Constraints(tasks_n=16, rate=1.0, memory=510_000_000))
    assert all(p.memory <= 510_000_000 for p in d.pairs if p.meets)
    assert not by_name(d.pairs)["lora + gathered_lora"].meets  # 16 MB of adapters over the limit


def test_nothing_meets_the_rate_closest_is_named_with_its_miss():
    d = decide(rows(), Constraints(tasks_n=16, rate=100.0))
    assert d.exit_code == 1 and d.chosen is None
    assert d.closest.startswith("closest: zero_shot + base") and "below 100" in d.closest


def test_rate_at_another_slo_is_searched_on_the_rows_own_times():
    r = serve_row("gathered_lora", 16, 20.0)
    assert rate_at(r, None) == 20.0 and rate_at(r, 1000.0) == 20.0
    tight, loose = rate_at(r, 200.0), rate_at(r, 5000.0)
    assert 0 < tight < loose


def test_the_table_is_plain_dicts_with_the_recommendation_marked():
    d = decide(rows(), Constraints(tasks_n=16, rate=10.0))
    t = deploy.table(d)
    assert [x for x in t if x["recommended"]][0]["strategy"] == "gathered_lora"
    assert sum(x["runner_up"] for x in t) == 1
    assert {"method", "strategy", "accuracy", "rate_at_slo_rps", "memory_bytes", "meets", "missing"} <= set(t[0])


def test_several_tasks_need_a_choice():
    extra = [run_row("lora", answers(300), task="debates_party")]
    with pytest.raises(BenchError, match="--task"):
        pairs(rows(extra=extra), Constraints(tasks_n=16, rate=1.0))
    assert pairs(rows(extra=extra), Constraints(tasks_n=16, rate=1.0), task="rotten_tomatoes")


def test_the_served_task_is_the_default_among_several():
    extra = [run_row("lora", answers(300), task="debates_party")]
    served = [dict(r, requests_from=["rotten_tomatoes"]) if r["kind"] == "serve" else r for r in rows(extra=extra)]
    assert {p.run_id for p in pairs(served, Constraints(tasks_n=16, rate=1.0)) if p.method == "lora"} == {"run-lora"}


def test_when_the_runner_up_shares_the_method_the_best_of_another_method_is_named():
    served = dict(SERVED, peft_mixed_batch=19.5)  # LoRA's two mixed strategies lead
    d = decide(rows(served=served), Constraints(tasks_n=16, rate=10.0))
    assert (d.chosen.name, d.runner_up.name) == ("lora + gathered_lora", "lora + peft_mixed_batch")
    assert d.rival.name == "prompt_tuning + mixed_prompt_batch" and "exact McNemar" in d.rival_separation


ROSE = [0.5] * 10 + [0.9] * 10  # the loss ended higher than it started: the health checks flag the run


def test_a_flagged_run_is_left_out_by_name_and_its_method_said_to_lack_a_healthy_run():
    rs = [dict(r, loss_curve=ROSE) if r.get("method") == "lora" else r for r in rows()]
    d = decide(rs, Constraints(tasks_n=16, rate=10.0), runs_file="r.jsonl")
    assert [x for x in d.left_out if "flagged" in x] == [
        "lora seed 0 (run-lora): flagged by the health checks: training loss rose: 0.500 over the first 2 steps, "
        "0.900 over the last 2 (diverged?)"
    ]
    lora = [p for p in d.pairs if p.method == "lora"]
    assert lora and all(p.accuracy is None and p.missing.startswith("no healthy run of lora (its runs") for p in lora)
    assert d.chosen.method == "prompt_tuning"


def test_a_healthy_seed_is_read_when_another_is_flagged():
    healthy = run_row("lora", answers(340), seed=1, run_id="run-lora-1")
    rs = [dict(r, loss_curve=ROSE) if r.get("run_id") == "run-lora" else r for r in rows(extra=[healthy])]
    d = decide(rs, Constraints(tasks_n=16, rate=10.0))
    assert {p.run_id for p in d.pairs if p.method == "lora"} == {"run-lora-1"}
    assert any(x.startswith("lora seed 0 (run-lora): flagged") for x in d.left_out)
    assert not any("beside the one run paired" in x for x in d.left_out)  # the flagged run is said once, as flagged


def test_runs_of_unservable_methods_and_higher_seeds_are_summed_in_one_line_each():
    extra = [run_row("ia3", answers(330)), run_row("lora", answers(200), seed=1, run_id="run-lora-1")]
    d = decide(rows(extra=extra), Constraints(tasks_n=16, rate=10.0))
    assert "1 run of a method no serving strategy here serves: ia3" in d.left_out
    assert (
        "1 run beside the one run paired per method (the lowest seed's, the first read among equals): lora"
        in d.left_out
    )
    assert not any(p.method == "ia3" for p in d.pairs)
    assert decide(rows(), Constraints(tasks_n=16, rate=10.0)).left_out == ()


def test_head_only_is_served_by_the_base_model_alone():
    ps = pairs(rows(extra=[run_row("head_only", answers(310))]), Constraints(tasks_n=16, rate=1.0))
    head = [p for p in ps if p.method == "head_only"]
    assert [p.strategy for p in head] == ["base"]
    assert head[0].rate == 30.0 and head[0].memory == by_name(ps)["zero_shot + base"].memory == 500_000_000


def test_each_pair_has_its_interval_and_its_paired_margin_to_the_most_accurate():
    ps = by_name(pairs(rows(lora_right=380, pt_right=300), Constraints(tasks_n=16, rate=1.0)))
    pt, lora = ps["prompt_tuning + mixed_prompt_batch"], ps["lora + merge_swap"]
    assert pt.ci == pytest.approx((0.75 - 0.03, 0.75 + 0.03)) and pt.gap == pytest.approx(-80 / 400)
    assert lora.gap == 0 and lora.p is None  # the most accurate run: nothing to test it against
    assert pt.p == pytest.approx(deploy.mcnemar_p(run_row("x", answers(300)), run_row("y", answers(380))))


def test_model_copies_say_their_assumption_and_fall_back_to_the_runs_parameters():
    full = run_row("full", answers(345), total_params=100_000_000)
    c = Constraints(tasks_n=64, rate=1.0)
    copies = by_name(pairs(rows(extra=[full]), c))["full + model_copies"]
    assert "simulated on the base strategy's profiled service times (serve-base-64)" in copies.note
    assert "one task per batch and no swap" in copies.note and "64 x" in copies.note
    bare = [{k: v for k, v in r.items() if k != "model_bytes"} for r in rows(extra=[full])]
    copies = by_name(pairs(bare, c))["full + model_copies"]
    assert copies.memory == 64 * 400_000_000 and "the run's parameters at 4 bytes each" in copies.note
    assert all(not p.note for p in pairs(rows(extra=[full]), c) if p.strategy != "model_copies")


def test_strategies_serve_skips_by_default_are_listed_only_when_measured():
    names = [p.name for p in pairs(rows(), Constraints(tasks_n=16, rate=1.0))]
    assert "lora + hotswap_compiled" not in names and "lora + load_cold" not in names
    measured = rows(served=dict(SERVED, hotswap_compiled=9.0))
    ps = by_name(pairs(measured, Constraints(tasks_n=16, rate=1.0)))
    assert ps["lora + hotswap_compiled"].rate == 9.0 and not ps["lora + hotswap_compiled"].missing
    assert "prompt_tuning + hotswap_compiled" not in ps and "zero_shot + hotswap_compiled" not in ps


def test_runs_over_different_test_examples_are_not_tested_and_say_so():
    rs = [dict(r, test_correct=r["test_correct"][:300]) if r.get("method") == "prompt_tuning" else r for r in rows()]
    d = decide(rs, Constraints(tasks_n=16, rate=10.0))
    assert by_name(d.pairs)["prompt_tuning + mixed_prompt_batch"].p is None
    assert d.runner_up.method == "prompt_tuning" and "on the same test examples: not tested" in d.separation


def test_rates_never_checked_in_real_time_are_said_to_be_unchecked():
    d = decide(rows(), Constraints(tasks_n=64, rate=1.0))
    assert "never checked against a real-time run" in d.sim_check
    assert "not verified in real time" in d.separation  # the rate ratio between them rests on unchecked rates


def test_the_simulations_p99_error_is_stated_and_a_large_one_marks_its_strategies_unverified():
    errs = {s: (-10.0 if s in ("gathered_lora", "mixed_prompt_batch") else -60.0) for s in SERVED}
    checked = rows(ns=(64,))
    for r in checked:
        if r["kind"] == "serve":
            r |= {"sim_p99_err_pct": errs[r["strategy"]], "sim_p99_requests": 200}
    d = decide(checked, Constraints(tasks_n=64, rate=1.0))
    assert "(200 requests): -60 % to -10 % off" in d.sim_check
    unverified = d.sim_check.split("not verified: ")[1].split(", ")
    assert "gathered_lora" not in unverified and "mixed_prompt_batch" not in unverified
    assert {"base", "merge_swap", "peft_mixed_batch"} <= set(unverified)
    assert d.chosen.name == "lora + gathered_lora" and d.runner_up.name == "prompt_tuning + mixed_prompt_batch"
    assert "not verified" not in d.separation  # both rates were checked within the bound

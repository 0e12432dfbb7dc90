"""Regression verdicts: each mark as a pure function, A/A not flagged, injected regressions flagged,
bad input -> one line and exit code 2."""

from __future__ import annotations

import json
import random

import pytest

from bench.analysis import compare as cmp
from bench.analysis.compare import BETTER, FAILING, INCOMPARABLE, NOISE, WORSE
from bench.cli import main
from bench.render.verdicts import to_markdown


def timing_samples(rng: random.Random, median_ms: float, n: int) -> list[float]:
    """Shared-CPU timing noise: log-normal around the median, an occasional slow outlier."""
    return [median_ms * rng.lognormvariate(0, 0.08) * (1.6 if rng.random() < 0.05 else 1.0) for _ in range(n)]


def make_row(
    seed: int = 0, method: str = "lora", slow: float = 1.0, accuracy: float = 0.72, device: str = "cpu", **over
) -> dict:
    rng = random.Random(seed)
    train = timing_samples(rng, 500 * slow, 60)
    lat = timing_samples(rng, 12 * slow, 24)
    batch = timing_samples(rng, 230 * slow, 5)
    row = {
        "schema_version": 1,
        "kind": "run",
        "task": "rotten_tomatoes",
        "task_version": 1,
        "model": "minilm",
        "method": method,
        "method_params": {"r": 8, "lr": 0.003},
        "seed": 0,
        "suite": "smoke",
        "machine_id": "m1",
        "machine_class": "cpu-test-2c",
        "env": {"device_kind": device},
        "status": "ok",
        "error": None,
        "trainable_params": 74498,
        "total_params": 22788484,
        "adapter_bytes": 307868,
        "accuracy": accuracy,
        "accuracy_ci_low": accuracy - 0.027,
        "accuracy_ci_high": accuracy + 0.027,
        "train_step_ms_samples": train,
        "train_step_ms_p50": sorted(train)[30],
        "infer_latency_ms_samples": lat,
        "infer_latency_ms_p50": sorted(lat)[12],
        "infer_batch_ms_samples": batch,
        "infer_batch_ms_p50": sorted(batch)[2],
        "peak_mem_bytes": 1_443_164_160,
    }
    row.update(over)
    return row


def marks(verdicts, metric=None) -> set[str]:
    return {v.mark for v in verdicts if metric is None or v.metric == metric}


# ----------------------------------------------------------------------------- each mark, pure


def test_trainable_params_must_match_exactly():
    assert cmp.exact_verdict("r", "trainable_params", 74498, 74498).mark == NOISE
    assert cmp.exact_verdict("r", "trainable_params", 74498, 74499).mark == WORSE
    assert cmp.exact_verdict("r", "trainable_params", 74498, 70000).mark == WORSE  # fewer is a change too


def test_accuracy_worse_only_outside_the_baseline_interval():
    base = {"accuracy": 0.72, "accuracy_ci_low": 0.69, "accuracy_ci_high": 0.75}
    assert cmp.accuracy_verdict("r", base, {"accuracy": 0.70}).mark == NOISE
    assert cmp.accuracy_verdict("r", base, {"accuracy": 0.69}).mark == NOISE  # on the edge: inside
    assert cmp.accuracy_verdict("r", base, {"accuracy": 0.62}).mark == WORSE
    assert cmp.accuracy_verdict("r", base, {"accuracy": 0.80}).mark == BETTER
    assert cmp.accuracy_verdict("r", {"accuracy": 0.7}, {"accuracy": 0.6}).mark == INCOMPARABLE  # no interval


def test_timing_needs_both_the_factor_and_the_test():
    rng = random.Random(1)
    base = {"infer_latency_ms_p50": 12.0, "infer_latency_ms_samples": timing_samples(rng, 12, 24)}
    slow = {"infer_latency_ms_p50": 18.0, "infer_latency_ms_samples": timing_samples(rng, 18, 24)}
    fast = {"infer_latency_ms_p50": 8.0, "infer_latency_ms_samples": timing_samples(rng, 8, 24)}
    slightly = {"infer_latency_ms_p50": 13.8, "infer_latency_ms_samples": timing_samples(rng, 13.8, 24)}
    assert cmp.timing_verdict("r", "infer_latency_ms_p50", base, slow, 1.25).mark == WORSE
    assert cmp.timing_verdict("r", "infer_latency_ms_p50", base, fast, 1.25).mark == BETTER
    v = cmp.timing_verdict("r", "infer_latency_ms_p50", base, slightly, 1.25)  # significant, but under the factor
    assert v.mark == NOISE and v.p_value < 0.01
    # three samples a side can never reach p < 0.01: judged by the factor alone (beyond 1.25^2), never `~`
    few = cmp.timing_verdict(
        "r",
        "infer_latency_ms_p50",
        {"infer_latency_ms_samples": [10, 11, 12]},
        {"infer_latency_ms_samples": [30, 31, 32]},
        1.25,
    )
    assert few.mark == WORSE and few.factor_only and few.p_value >= 0.01
    assert cmp.timing_verdict("r", "infer_latency_ms_p50", base, {}, 1.25).mark == INCOMPARABLE
    assert cmp.timing_verdict("r", "infer_latency_ms_p50", base, slow, 1.6).mark == NOISE  # configurable factor


def test_memory_and_size_verdicts():
    assert cmp.factor_verdict("r", "peak_mem_bytes", 100, 120, 1.25).mark == NOISE
    assert cmp.factor_verdict("r", "peak_mem_bytes", 100, 130, 1.25).mark == WORSE
    assert cmp.factor_verdict("r", "peak_mem_bytes", 100, 70, 1.25).mark == BETTER
    # a higher-is-better number (a rate at the SLO) is worse when it falls
    assert cmp.factor_verdict("r", "rate_at_slo_rps", 10.0, 7.0, 1.25).mark == WORSE
    assert cmp.factor_verdict("r", "rate_at_slo_rps", 10.0, 13.0, 1.25).mark == BETTER
    assert cmp.factor_verdict("r", "rate_at_slo_rps", 10.0, 11.0, 1.25).mark == NOISE
    assert cmp.size_verdict("r", "adapter_bytes", 307868, 307900).mark == NOISE
    assert cmp.size_verdict("r", "adapter_bytes", 307868, 400000).mark == WORSE


def test_status_marks():
    ok, failed = {"status": "ok"}, {"status": "failed", "error": "boom"}
    assert cmp.status_verdict("r", ok, ok) is None
    assert cmp.status_verdict("r", ok, failed).mark == FAILING
    assert cmp.status_verdict("r", failed, ok).mark == BETTER
    assert cmp.status_verdict("r", failed, failed).mark == NOISE


# ----------------------------------------------------------------------------- compare()


def test_aa_same_code_twice_is_not_flagged():
    """Two runs of the same code: timing samples from one distribution, same accuracy and params."""
    flagged = []
    for seed in range(10):
        base = [make_row(seed=100 + seed, method=m) for m in ("lora", "full")]
        cur = [make_row(seed=200 + seed, method=m) for m in ("lora", "full")]
        verdicts = cmp.compare(base, cur)
        flagged += [v for v in verdicts if v.mark != NOISE]
        assert cmp.exit_code(verdicts) == 0
    assert not flagged


def test_injected_slowdown_and_accuracy_drop_are_flagged():
    base = [make_row(seed=1)]
    slow = cmp.compare(base, [make_row(seed=2, slow=1.5)])
    assert marks(slow, "train_step_ms_p50") == {WORSE} and marks(slow, "infer_latency_ms_p50") == {WORSE}
    assert marks(slow, "accuracy") == {NOISE} and cmp.exit_code(slow) == 1
    assert cmp.exit_code(slow, advisory=("timing", "memory")) == 0  # CI: timings printed, not failing
    worse = cmp.compare(base, [make_row(seed=2, accuracy=0.62)])
    assert marks(worse, "accuracy") == {WORSE} and cmp.exit_code(worse, advisory=("timing", "memory")) == 1


def test_gpu_factor_is_tighter():
    base = [make_row(seed=1, device="cuda")]
    cur = [make_row(seed=2, slow=1.18, device="cuda")]
    assert marks(cmp.compare(base, cur), "train_step_ms_p50") == {WORSE}  # 1.18 > 1.10 on GPU
    cpu = cmp.compare([make_row(seed=1)], [make_row(seed=2, slow=1.18)])
    assert marks(cpu, "train_step_ms_p50") == {NOISE}  # but not over 1.25 on CPU


def test_matching_and_incomparable_rows():
    base = [make_row(seed=1), make_row(seed=1, method="full")]
    cur = [make_row(seed=2, method_params={"r": 16, "lr": 0.003}), make_row(seed=2, method="full", device="cuda")]
    verdicts = cmp.compare(base, cur)
    assert marks(verdicts) == {INCOMPARABLE} and len(verdicts) == 4
    assert cmp.exit_code(verdicts) == 0


def test_rows_at_other_budgets_are_other_experiments():
    budget = {"epochs": 1, "batch_size": 16, "max_length": 48}
    base = [make_row(seed=1, budget=budget)]
    assert marks(cmp.compare(base, [make_row(seed=2, budget={**budget, "epochs": 2})])) == {INCOMPARABLE}
    assert marks(cmp.compare(base, [make_row(seed=2, budget={**budget, "precision": "bf16"})])) == {INCOMPARABLE}
    # a key added later, at its default, is the same experiment as a row written before it existed
    same = cmp.compare(base, [make_row(seed=2, budget={**budget, "precision": "fp32", "chat_template": False})])
    assert INCOMPARABLE not in marks(same) and marks(same, "accuracy") == {NOISE}


def test_newly_failing_row_without_details_still_matches():
    """A run that died early records no method params or environment: it is `!`, not `x`."""
    failed = {
        "schema_version": 1,
        "kind": "run",
        "task": "rotten_tomatoes",
        "model": "minilm",
        "method": "lora",
        "seed": 0,
        "method_params": {},
        "status": "failed",
        "error": "run process died (SIGTERM)",
    }
    verdicts = cmp.compare([make_row(seed=1)], [failed])
    assert [v.mark for v in verdicts] == [FAILING] and "SIGTERM" in verdicts[0].note
    assert cmp.exit_code(verdicts, advisory=("timing", "memory")) == 1


def test_markdown_table():
    verdicts = cmp.compare([make_row(seed=1)], [make_row(seed=2, accuracy=0.5)])
    md = to_markdown(verdicts)
    assert md.splitlines()[0].startswith("| | run | metric |")
    assert "| + | rotten_tomatoes / lora (lr=0.003, r=8) seed 0 | accuracy | 0.72 | 0.5 |" in md
    assert "1 worse (+)" in md


# ----------------------------------------------------------------------------- command line


def write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_cli_exit_codes(tmp_path, capsys):
    base = write(tmp_path / "base.jsonl", [make_row(seed=1)])
    same = write(tmp_path / "same.jsonl", [make_row(seed=2)])
    slow = write(tmp_path / "slow.jsonl", [make_row(seed=2, slow=1.5)])
    assert main(["compare", str(base), str(same)]) == 0
    assert main(["compare", str(base), str(slow)]) == 1
    assert main(["compare", str(base), str(slow), "--advisory", "timing,memory"]) == 0
    assert main(["compare", str(base), str(slow), "--factor", "2"]) == 0
    out = capsys.readouterr().out
    assert "| + |" in out and "(advisory)" in out


@pytest.mark.parametrize("case", ["missing", "mixed_schema", "empty", "not_json", "bad_advisory"])
def test_cli_bad_input_is_one_line_exit_2(tmp_path, capsys, case):
    base = write(tmp_path / "base.jsonl", [make_row(seed=1)])
    args = ["compare", str(base), str(tmp_path / "nope.jsonl")]
    if case == "mixed_schema":
        args[2] = str(write(tmp_path / "v2.jsonl", [make_row(seed=2, schema_version=2)]))
    elif case == "empty":
        args[2] = str(write(tmp_path / "empty.jsonl", []))
    elif case == "not_json":
        (tmp_path / "bad.jsonl").write_text("{oops\n{}\n")
        args[2] = str(tmp_path / "bad.jsonl")
    elif case == "bad_advisory":
        args[1:] = [str(base), str(base), "--advisory", "accuracy"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1


def test_baseline_save_and_path(tmp_path, capsys):
    from bench.rows.baselines import baseline_path, save_baseline

    rows = [make_row(seed=1), make_row(seed=1, method="full")]
    src = write(tmp_path / "smoke.jsonl", rows)
    root = tmp_path / "baselines"
    assert main(["baseline", "save", str(src), "--root", str(root)]) == 0
    path = baseline_path("cpu-test-2c", "smoke", root)
    assert [json.loads(line) for line in path.read_text().splitlines()] == rows
    assert main(["baseline", "save", str(src), "--root", str(root)]) == 2  # exists: needs --force
    assert main(["baseline", "save", str(src), "--root", str(root), "--force"]) == 0
    with pytest.raises(Exception, match="one machine_class"):
        save_baseline([make_row(), make_row(machine_class="cuda-h200-1gpu")], root)
    assert main(["baseline", "path", "--suite", "nothing", "--root", str(root)]) == 1


def test_generation_score_is_compared_within_its_interval():
    """A ROUGE-L task: exact match and the task's own metric each get an accuracy-style verdict."""
    base = make_row(task="e2e_nlg", metric="rougeL", score=0.50, score_ci_low=0.45, score_ci_high=0.55, accuracy=0.05)
    same = make_row(task="e2e_nlg", metric="rougeL", score=0.48, score_ci_low=0.43, score_ci_high=0.53, accuracy=0.05)
    worse = make_row(task="e2e_nlg", metric="rougeL", score=0.30, score_ci_low=0.25, score_ci_high=0.35, accuracy=0.05)
    assert marks(cmp.compare_rows(base, same, 1.25), "score") == {NOISE}
    assert marks(cmp.compare_rows(base, worse, 1.25), "score") == {WORSE}
    plain = make_row(metric="accuracy", score=0.72)
    assert not [v for v in cmp.compare_rows(plain, plain, 1.25) if v.metric == "score"]  # accuracy already covers it


def test_a_lost_value_is_worse_never_noise():
    base = make_row()
    for lost in (None, float("nan"), float("inf")):
        cur = {**make_row(), "accuracy": lost, "peak_mem_bytes": lost}
        v = {x.metric: x for x in cmp.compare([base], [cur])}
        assert v["accuracy"].mark == WORSE and v["peak_mem_bytes"].mark == WORSE
        assert cmp.exit_code(list(v.values())) == 1


def test_non_finite_rows_are_refused_on_read(tmp_path, capsys):
    base = write(tmp_path / "b.jsonl", [make_row()])
    bad = tmp_path / "c.jsonl"
    bad.write_text(json.dumps(make_row()).replace('"accuracy": 0.72', '"accuracy": NaN') + "\n")
    assert main(["compare", str(base), str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: malformed results") and f"{bad}:1: accuracy" in err and "finite" in err


def test_fail_missing_and_nothing_comparable(tmp_path, capsys):
    budget = {"epochs": 1, "batch_size": 16}
    base = write(tmp_path / "b.jsonl", [make_row(budget=budget), make_row(method="full", budget=budget)])
    part = write(tmp_path / "c.jsonl", [make_row(budget=budget)])
    assert main(["compare", str(base), str(part)]) == 0  # a lost run is only marked x ...
    assert main(["compare", str(base), str(part), "--fail-missing"]) == 1  # ... unless asked
    capsys.readouterr()
    other = write(tmp_path / "o.jsonl", [make_row(budget={"epochs": 9, "batch_size": 16})])
    assert main(["compare", str(base), str(other)]) == 1
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("nothing comparable") and "budget.epochs" in last
    gpu = write(tmp_path / "g.jsonl", [make_row(device="cuda", budget=budget)])
    assert main(["compare", str(part), str(gpu)]) == 1
    assert "env.device_kind differs (baseline cpu, current cuda)" in capsys.readouterr().out


def serve_row(strategy: str = "gathered_lora", rate: float = 10.0, rank: int = 16, **over) -> dict:
    rng = random.Random(rank)
    return {
        "schema_version": 1,
        "kind": "serve",
        "env": {"device_kind": "cpu"},
        "status": "ok",
        "model": "shape:llama-3.2-1b",
        "layers": 2,
        "dtype": "fp32",
        "strategy": strategy,
        "n_tasks": 64,
        "rank": rank,
        "targets": "attention",
        "popularity": "zipf",
        "arrivals": "poisson",
        "cv": 1.0,
        "tokens_per_request": 16,
        "max_batch": 32,
        "max_wait_ms": 0.0,
        "slo_rule": "4x base",
        "rate_at_slo_rps": rate,
        "swap_ms_p50": None,
        "swap_ms_samples": [],
        "adapter_bytes_resident": 1_000_000,
        "service_samples": {"1,1": timing_samples(rng, 20, 5)},
        **over,
    }


def test_serve_rows_match_on_their_fleet_and_their_rate_is_judged_by_direction():
    verdicts = cmp.compare([serve_row(rate=10.0)], [serve_row(rate=6.0)])
    assert {(v.run, v.metric): v.mark for v in verdicts} == {
        ("serve gathered_lora N=64 r=16 shape:llama-3.2-1b", "rate_at_slo_rps"): WORSE,
        ("serve gathered_lora N=64 r=16 shape:llama-3.2-1b", "adapter_bytes_resident"): NOISE,
    }
    other_rank = cmp.compare([serve_row(rank=16)], [serve_row(rank=64)])  # another fleet: not the same experiment
    assert {v.mark for v in other_rank} == {INCOMPARABLE} and not cmp.compared_any(other_rank)
    assert "rank" in cmp.differing_key([serve_row(rank=16)], [serve_row(rank=64)])

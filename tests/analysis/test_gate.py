"""The gate's rules on small synthetic cases: the paired test catches a one-way drop the interval rule misses
and lets a swap pass; timings too few for the U test are judged by factor alone (`?` within it); every verdict
states the smallest change it could flag; and the two regressions a user found pass no more (committed rows,
modified in a temporary folder)."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

from bench.analysis import gate
from bench.analysis import significance as sig
from bench.analysis.compare import compare, counts, to_json
from bench.cli import main
from bench.render.verdicts import to_markdown
from bench.rows.store import read_rows

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "results" / "baselines" / "cpu-amd-epyc-2c" / "smoke.jsonl"
LLM = ROOT / "results" / "llm" / "cpu-amd-epyc-2c.jsonl"


def answers(n: int, right: int, seed: int = 0) -> str:
    v = ["1"] * right + ["0"] * (n - right)
    random.Random(seed).shuffle(v)
    return "".join(v)


def flip(vector: str, k: int, to: str, seed: int = 1) -> str:
    """k answers that are not `to` turned into `to`."""
    v = list(vector)
    for i in random.Random(seed).sample([i for i, a in enumerate(v) if a != to], k):
        v[i] = to
    return "".join(v)


def acc_row(vector: str, half_width: float = 0.03) -> dict:
    a = vector.count("1") / len(vector)
    return {
        "accuracy": a,
        "accuracy_ci_low": a - half_width,
        "accuracy_ci_high": a + half_width,
        "test_correct": vector,
    }


# ----------------------------------------------------------------------------- accuracy: the paired test


def test_a_one_way_drop_inside_the_interval_is_caught_by_the_paired_test():
    base = answers(1000, 842)
    cur = flip(base, 22, "0")
    v = gate.accuracy_verdict("r", acc_row(base), acc_row(cur))
    assert v.mark == gate.WORSE and v.test == gate.MCNEMAR
    assert v.discordant == (22, 0) and v.p_value == pytest.approx(0.5**22)
    assert "22 right->wrong, 0 wrong->right of 1000" in v.note
    # the interval rule, as for rows without per-example answers, cannot see it: 0.820 lies inside 0.842 +- 0.03
    old = gate.accuracy_verdict("r", {**acc_row(base), "test_correct": None}, {"accuracy": cur.count("1") / 1000})
    assert old.mark == gate.NOISE and old.test == gate.INTERVAL and "no per-example answers" in old.note


def test_a_swap_of_answers_is_not_a_drop():
    """Ten answers go wrong, ten others go right: same accuracy, no evidence of a change."""
    base = answers(200, 111)
    cur = flip(flip(base, 10, "0", seed=2), 10, "1", seed=3)
    v = gate.accuracy_verdict("r", acc_row(base), acc_row(cur))
    assert v.mark == gate.NOISE and v.test == gate.MCNEMAR and v.p_value > 0.5
    assert v.discordant[0] >= 10 and v.discordant[0] == v.discordant[1]


def test_a_one_way_gain_is_better_and_small_changes_pass():
    base = answers(200, 100)
    assert gate.accuracy_verdict("r", acc_row(base), acc_row(flip(base, 9, "1"))).mark == gate.BETTER
    assert gate.accuracy_verdict("r", acc_row(base), acc_row(flip(base, 6, "0"))).mark == gate.NOISE  # p = 1/64
    assert gate.accuracy_verdict("r", acc_row(base), acc_row(flip(base, 7, "0"))).mark == gate.WORSE  # p = 1/128


def test_paired_power_in_points():
    """At alpha 0.01 the exact test needs 7 one-way losses (0.5^7 < 0.01 < 0.5^6); each example won back
    needs more."""
    assert sig.min_losses(0, 0.01) == 7 and sig.min_losses(0, 0.05) == 5
    assert sig.min_losses(10, 0.01) > 17
    for n, points in ((1000, 0.7), (200, 3.5)):
        base = answers(n, n // 2)
        v = gate.accuracy_verdict("r", acc_row(base), acc_row(base))
        assert v.mark == gate.NOISE and v.min_change == pytest.approx(points) and v.detectable.startswith(f"-{points}")


def test_a_rouge_score_has_no_per_example_values_and_says_so():
    row = {**acc_row(answers(200, 100)), "metric": "rougeL", "score": 0.4, "score_ci_low": 0.37, "score_ci_high": 0.43}
    v = gate.accuracy_verdict("r", row, {**row, "score": 0.38}, metric="score")
    assert v.test == gate.INTERVAL and v.mark == gate.NOISE and "no per-example rougeL scores" in v.note


def test_vectors_of_other_lengths_fall_back_to_the_interval_and_say_why():
    v = gate.accuracy_verdict("r", acc_row(answers(200, 100)), acc_row(answers(100, 50)))
    assert v.test == gate.INTERVAL and "different lengths" in v.note
    assert v.min_change == pytest.approx(3.0)  # the interval's half width, in points: its blind zone


# ----------------------------------------------------------------------------- timings: reach and power


def test_the_u_test_gives_scipys_p_values():
    from scipy.stats import mannwhitneyu

    rng = random.Random(0)
    for _ in range(200):
        b = [round(rng.lognormvariate(0, 0.3), rng.choice([1, 6])) for _ in range(rng.randint(1, 30))]
        c = [
            round(rng.lognormvariate(rng.choice([0, 0.3]), 0.3), rng.choice([1, 6])) for _ in range(rng.randint(1, 30))
        ]
        method = sig._method(b, c)
        want = mannwhitneyu(c, b, alternative="greater", method=method).pvalue
        assert sig._p_greater(c, b, method) == pytest.approx(want, abs=1e-12)


def test_the_u_tests_floor():
    assert sig.floor_p(3, 3) == pytest.approx(1 / 20) and sig.floor_p(9, 8) == pytest.approx(1 / math.comb(17, 8))
    assert sig.floor_p(3, 3, "asymptotic") > 0.01


def timing(samples: list[float]) -> dict:
    return {"infer_batch_ms_p50": sorted(samples)[len(samples) // 2], "infer_batch_ms_samples": samples}


@pytest.mark.parametrize(("scale", "mark"), [(10, gate.WORSE), (1.7, gate.WORSE), (1.4, gate.FACTOR_ONLY)])
def test_too_few_samples_are_judged_by_factor_alone_never_within_noise(scale, mark):
    base = [200.0, 205.0, 210.0]
    v = gate.timing_verdict("r", "infer_batch_ms_p50", timing(base), timing([x * scale for x in base]), 1.25)
    assert v.mark == mark and v.factor_only and v.test == gate.BY_FACTOR
    assert v.min_change == pytest.approx(1.25**2) and "cannot reach p<0.01" in v.note
    assert gate.timing_verdict("r", "infer_batch_ms_p50", timing(base), timing(base), 1.25).mark == gate.FACTOR_ONLY


def test_enough_samples_use_the_test_and_state_the_smallest_slowdown_they_could_flag():
    rng = random.Random(0)
    base = [200 * rng.lognormvariate(0, 0.03) for _ in range(8)]
    cur = [200 * rng.lognormvariate(0, 0.03) for _ in range(8)]
    v = gate.timing_verdict("r", "infer_batch_ms_p50", timing(base), timing(cur), 1.25)
    assert v.mark == gate.NOISE and v.test == gate.U_TEST and not v.factor_only
    need = v.min_change
    assert 1.25 < need < 1.5  # tight samples: just past the factor
    just = gate.timing_verdict("r", "infer_batch_ms_p50", timing(base), timing([x * need * 1.01 for x in cur]), 1.25)
    short = gate.timing_verdict("r", "infer_batch_ms_p50", timing(base), timing([x * need * 0.97 for x in cur]), 1.25)
    assert just.mark == gate.WORSE and short.mark != gate.WORSE


def test_wide_samples_need_a_larger_change():
    rng = random.Random(0)
    tight = sig.min_slowdown([rng.lognormvariate(0, 0.02) for _ in range(9)], [1.0] * 9, 1.25, 0.01)
    wide = sig.min_slowdown([rng.lognormvariate(0, 0.5) for _ in range(9)], [1.0] * 9, 1.25, 0.01)
    assert tight < wide and sig.min_slowdown([1, 2, 3], [1, 2, 3], 1.25, 0.01) is None


# ----------------------------------------------------------------------------- output and the command line


def test_markdown_and_json_carry_test_power_and_the_factor_only_count():
    row = {"schema_version": 1, "kind": "run", "task": "t", "model": "m", "method": "lora", "seed": 0, "status": "ok"}
    base = {**row, **timing([200.0, 205.0, 210.0]), **acc_row(answers(200, 100))}
    cur = {**row, **timing([230.0, 240.0, 250.0]), **acc_row(answers(200, 100))}
    verdicts = compare([base], [cur])
    md = to_markdown(verdicts)
    assert "| test | can flag |" in md.splitlines()[0] and "| ? |" in md and "x1.56" in md
    assert "1 factor-only within the stricter factor (?)" in md and "1 timing verdicts by factor alone" in md
    assert "`?` factor only" in md
    doc = json.loads(to_json(verdicts, (), counts(verdicts), 0))
    by = {v["metric"]: v for v in doc["verdicts"]}
    assert by["accuracy"]["test"] == gate.MCNEMAR and by["accuracy"]["min_change"] == pytest.approx(3.5)
    assert by["infer_batch_ms_p50"]["detectable"] == "x1.56" and doc["counts"]["judged_by_factor_alone"] == 1


@pytest.mark.parametrize("bad", [["--factor", "0.5"], ["--alpha", "1.5"], ["--alpha", "0"], ["--factor", "nan"]])
def test_bad_levels_are_one_line_exit_2(capsys, bad):
    assert main(["compare", str(SMOKE), str(SMOKE), *bad]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1 and bad[0] in err


def test_a_non_numeric_alpha_is_one_line_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["compare", str(SMOKE), str(SMOKE), "--alpha", "abc"])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and len(err.splitlines()) == 1 and "--alpha" in err


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_ten_times_slower_batches_fail_the_gate(tmp_path, capsys):
    """The committed smoke baseline with every batch timing x10 and every training step x3."""
    rows = read_rows(SMOKE)
    slow = []
    for r in rows:
        r = dict(r)
        r["infer_batch_ms_samples"] = [x * 10 for x in r["infer_batch_ms_samples"]]
        r["infer_batch_ms_p50"] = r["infer_batch_ms_p50"] * 10
        r["train_step_ms_samples"] = [x * 3 for x in r["train_step_ms_samples"]]
        r["train_step_ms_p50"] = r["train_step_ms_p50"] * 3
        slow.append(r)
    assert main(["compare", str(SMOKE), str(write(tmp_path / "SLOW.jsonl", slow)), "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    batch = [v for v in doc["verdicts"] if v["metric"] == "infer_batch_ms_p50"]
    assert len(batch) == len(rows) and all(v["mark"] == gate.WORSE for v in batch)
    assert all(v["test"] == gate.U_TEST and v["p_value"] < 0.01 for v in batch)  # the test itself fires


def test_twenty_two_answers_turned_wrong_fail_the_gate(tmp_path, capsys):
    """The committed LoRA row of rotten_tomatoes (0.842 of 1,000) with 22 right answers turned wrong."""
    row = next(r for r in read_rows(LLM) if r["task"] == "rotten_tomatoes" and r["method"] == "lora")
    cur = dict(row, test_correct=flip(row["test_correct"], 22, "0"))
    cur["accuracy"] = cur["score"] = cur["test_correct"].count("1") / 1000
    base, current = write(tmp_path / "base.jsonl", [row]), write(tmp_path / "cur.jsonl", [cur])
    assert main(["compare", str(base), str(current)]) == 1
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "| accuracy |" in x)
    assert line.startswith("| + |") and "exact McNemar" in line and "22 right->wrong, 0 wrong->right" in line


def test_rows_without_answers_still_compare_and_name_the_fallback(tmp_path):
    """Rows from before per-example answers: the interval rule, and each verdict says so."""
    rows = [dict(r, test_correct=None) for r in read_rows(LLM)[:2]]
    verdicts = compare(rows, rows)
    acc = [v for v in verdicts if v.metric == "accuracy"]
    assert acc and all(v.test == gate.INTERVAL and "interval rule" in v.note for v in acc)
    assert all(v.test for v in verdicts)

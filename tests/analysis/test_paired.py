"""The paired comparison of two methods (LoRA against prompt tuning, or against zero-shot), over seeds and
over test examples, on the selected learning rate's rows only, and the report's sweep and paired tables."""

from __future__ import annotations

import json
import random
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import ttest_rel

from bench.analysis import claims, paired
from bench.cli import main
from bench.render.html import render
from bench.render.terminal import paired_table
from tests.analysis.test_sweep import SWEEP, sweep_row
from tests.render.test_html import run_row

# ----------------------------------------------------------------------------- paired comparison


def correct_vector(n: int, p: float, rng: random.Random) -> str:
    return "".join("1" if rng.random() < p else "0" for _ in range(n))


def pair_rows(gap_correct: tuple[float, float], seeds=(0, 1, 2), n=400, task="t", **over) -> list[dict]:
    """lora and prompt_tuning rows whose per-example vectors are right with the given probabilities."""
    rng = random.Random(1)
    rows = []
    for s in seeds:
        for method, p in zip(("lora", "prompt_tuning"), gap_correct):
            v = correct_vector(n, p, rng)
            acc = v.count("1") / n
            rows.append(
                run_row(
                    task,
                    method,
                    seed=s,
                    accuracy=acc,
                    accuracy_ci_low=acc - 0.05,
                    accuracy_ci_high=acc + 0.05,
                    test_correct=v,
                    **over,
                )
            )
    return rows


def test_paired_detects_a_known_gap():
    rows = pair_rows((0.8, 0.6))
    (c,) = paired.paired(rows)
    assert (c.task, c.model, c.a, c.b, c.seeds, c.n_examples) == (
        "t",
        "minilm",
        "lora",
        "prompt_tuning",
        (0, 1, 2),
        400,
    )
    acc = {(r["method"], r["seed"]): r["accuracy"] for r in rows}
    assert c.gaps == tuple(pytest.approx(acc["lora", s] - acc["prompt_tuning", s]) for s in (0, 1, 2))
    assert 0.15 < c.gap < 0.25
    assert c.ci_from == "examples" and 0 < c.ci_low < c.gap < c.ci_high
    assert c.p_examples < 0.001
    lora = [acc["lora", s] for s in (0, 1, 2)]
    pt = [acc["prompt_tuning", s] for s in (0, 1, 2)]
    assert c.p_seeds == pytest.approx(ttest_rel(lora, pt).pvalue) and c.p_seeds < 0.05
    assert paired.paired(rows) == [c]  # seeded: deterministic
    (reverse,) = paired.paired(rows, ("prompt_tuning", "lora"))
    assert reverse.gap == pytest.approx(-c.gap) and reverse.ci_high < 0 and reverse.p_examples < 0.001


def test_paired_identical_results_give_no_gap():
    rows = []
    for r in pair_rows((0.7, 0.7)):
        twin = next((x for x in rows if x["seed"] == r["seed"]), None)
        rows.append({**r, **({k: twin[k] for k in ("accuracy", "test_correct")} if twin else {})})
    (c,) = paired.paired(rows)
    assert c.gap == 0 and c.gaps == (0, 0, 0)
    assert c.p_examples == 1.0 and c.p_seeds == 1.0
    assert (c.ci_low, c.ci_high) == (0, 0)


def test_paired_no_real_difference_is_not_significant():
    (c,) = paired.paired(pair_rows((0.7, 0.7)))  # independent vectors, same rate
    assert abs(c.gap) < 0.05 and c.p_examples > 0.05 and c.ci_low < 0 < c.ci_high


def test_zero_shot_pairs_its_one_row_with_every_seed():
    lora = [r for r in pair_rows((0.8, 0.6)) if r["method"] == "lora"]
    zero = {**pair_rows((0.6, 0.6), seeds=(0,))[0], "method": "zero_shot", "train_steps": 0}
    (c,) = paired.paired(lora + [zero], ("lora", "zero_shot"))
    assert c.seeds == (0, 1, 2) and c.gaps == tuple(pytest.approx(r["accuracy"] - zero["accuracy"]) for r in lora)
    assert c.p_seeds is not None and c.n_examples == 400 and c.ci_low < c.gap < c.ci_high
    (trained,) = paired.paired(lora + [{**zero, "train_steps": 5}], ("lora", "zero_shot"))
    assert trained.seeds == (0,)  # a method that trains pairs seed by seed


def test_paired_falls_back_to_seeds_without_example_vectors():
    rows = pair_rows((0.8, 0.6))
    missing = [{**r, "test_correct": None} if r["method"] == "lora" and r["seed"] == 1 else r for r in rows]
    shorter = [
        {**r, "test_correct": r["test_correct"][:-1]} if r["method"] == "lora" and r["seed"] == 2 else r for r in rows
    ]
    garbage = [{**r, "test_correct": "01x"} if r["seed"] == 0 else r for r in rows]
    for variant in (missing, shorter, garbage):
        (c,) = paired.paired(variant)
        assert c.p_examples is None and c.n_examples == 0 and c.p_seeds is not None
        assert c.ci_from == "seeds" and c.ci_low < c.gap < c.ci_high
    (one,) = paired.paired([r for r in missing if r["seed"] == 1])  # one seed, no vectors: a gap, no test
    assert one.p_seeds is None and one.p_examples is None and one.ci_low is None and one.ci_from == ""


def test_paired_pairs_only_common_ok_seeds_and_selected_rates():
    rows = pair_rows((0.8, 0.6), seeds=(0, 1, 2))
    rows = [r for r in rows if not (r["method"] == "prompt_tuning" and r["seed"] == 2)]
    rows.append(run_row("t", "prompt_tuning", seed=2, status="failed"))
    rows += [sweep_row(lr=1e-1, seed=s, val=0.1, acc=0.0, test_correct="0" * 400) for s in (0, 1)]  # a bad rate
    rows = [
        {**r, "lr_sweep": SWEEP, "method_params": {"lr": 1e-3, "r": 8}, "val_accuracy": 0.8}
        if r["method"] == "lora" and r.get("accuracy") != 0.0
        else r
        for r in rows
    ]
    (c,) = paired.paired(rows)
    assert c.seeds == (0, 1) and c.gap > 0.1  # the bad rate (accuracy 0) is not the selected one
    assert paired.paired(rows, ("lora", "full")) == [] and paired.paired(rows, ("lora", "lora")) == []


def test_claim_7_uses_the_paired_test():
    # one seed each, intervals overlap (0.05 wide), but 2,000 paired examples show LoRA clearly ahead
    rows = pair_rows((0.75, 0.70), seeds=(0,), n=2000)
    for r in rows:
        r.update(accuracy_ci_low=0.5, accuracy_ci_high=0.9)
    c = claims.claim_prompt_tuning(rows)
    assert c.verdict == claims.FAILS  # clearly lower on every task
    assert "(clearly lower; paired on seeds 0: LoRA - prompt tuning +0.0" in c.evidence[0]
    assert "over 2,000 test examples x 1 seed(s)" in c.evidence[0]
    same = pair_rows((0.7, 0.7), seeds=(0,), n=2000)
    c = claims.claim_prompt_tuning(same)
    assert c.verdict == claims.CAVEATS and "no significant difference" in c.evidence[0]
    without = [{k: v for k, v in r.items() if k != "test_correct"} for r in rows]  # falls back to the intervals
    assert "intervals overlap" in claims.claim_prompt_tuning(without).evidence[0]


def test_paired_table_in_the_terminal():
    text = paired_table(pair_rows((0.8, 0.6)))
    assert text.splitlines()[0] == "lora vs prompt_tuning, paired (gap = lora - prompt_tuning accuracy)"
    assert "0,1,2" in text and "400" in text
    assert paired_table([run_row()]) == ""


# ----------------------------------------------------------------------------- report


class Tables(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows: dict[str, list[dict]] = {}
        self.ids, self.table = [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.ids += [a["id"]] if "id" in a else []
        if tag == "table":
            self.table = a.get("class")
        if tag == "tr" and any(k.startswith("data-") for k in a):
            self.rows.setdefault(self.table, []).append(a)
        if tag == "td" and a.get("data-metric") == "accuracy" and "data-value" in a:
            self.rows[self.table][-1]["accuracy"] = float(a["data-value"])


def test_report_shows_the_sweep_and_the_paired_tables():
    rows = pair_rows((0.8, 0.6), seeds=(0, 1), task="t")
    rows = [
        {**r, "lr_sweep": SWEEP, "method_params": {"lr": 1e-3, "r": 8}, "val_accuracy": 0.8}
        if r["method"] == "lora"
        else r
        for r in rows
    ]
    rows += [sweep_row(lr=lr, seed=s, val=0.5, acc=0.99) for lr in (1e-4, 1e-2) for s in (0, 1)]
    html = render(rows)
    p = Tables()
    p.feed(html)
    assert "lr-sweep" in p.ids and "paired" in p.ids
    sweep = p.rows["lr-sweep"]
    assert [(r["data-lr"], r["data-selected"]) for r in sweep] == [("0.0001", "no"), ("0.001", "yes"), ("0.01", "no")]
    assert "★ selected" in html and "Learning-rate sweep" in html
    lora = next(r for r in p.rows["results"] if r["data-method"] == "lora")
    selected = [r["accuracy"] for r in rows if r["method"] == "lora" and r["method_params"]["lr"] == 1e-3]
    assert lora["accuracy"] == pytest.approx(np.mean(selected))  # not pulled up by the 0.99 of the other rates
    assert "lr 0.001, best of 3 by validation accuracy" in html
    (pair,) = p.rows["paired"]
    (c,) = paired.paired(rows)
    assert pair["data-task"] == "t" and float(pair["data-gap"]) == pytest.approx(c.gap)
    assert "lora vs prompt_tuning, paired" in html and paired.fmt_gap(c) in html
    plain = Tables()
    plain.feed(render([run_row()]))
    assert "lr-sweep" not in plain.ids and "paired" not in plain.ids


def test_report_pair_option(tmp_path, capsys):
    results = tmp_path / "rows.jsonl"
    results.write_text("".join(json.dumps(r) + "\n" for r in pair_rows((0.8, 0.6), seeds=(0,), n=50)))
    assert main(["report", str(results), "-o", str(tmp_path / "r.html"), "--pair", "prompt_tuning,lora"]) == 0
    assert "prompt_tuning vs lora, paired" in (tmp_path / "r.html").read_text()
    capsys.readouterr()
    assert main(["report", str(results), "-o", str(tmp_path / "x.html"), "--pair", "lora"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --pair 'lora': give two different method names") and err.count("\n") == 1
    out = tmp_path / "absent.html"
    assert main(["report", str(results), "-o", str(out), "--pair", "lora,full"]) == 2
    err = capsys.readouterr().err
    assert err == "error: --pair lora,full: no run of full in the rows; methods run: lora, prompt_tuning\n"
    assert not out.exists()  # nothing written
    serve = Path(__file__).resolve().parents[2] / "results" / "serving" / "serve-cpu.jsonl"
    assert main(["report", str(serve), "-o", str(out)]) == 0  # the default pair may be absent

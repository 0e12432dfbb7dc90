import numpy as np
import pytest

from bench.measure.evaluate import accuracy, bootstrap_ci, macro_f1
from bench.measure.timing import Timer, summarize


def test_accuracy_and_macro_f1():
    assert accuracy([1, 0, 1, 1], [1, 0, 0, 1]) == 0.75
    # class 0: tp=1 fp=0 fn=1 -> 2/3; class 1: tp=2 fp=1 fn=0 -> 4/5
    assert macro_f1([1, 0, 1, 1], [1, 0, 0, 1], 2) == pytest.approx((2 / 3 + 4 / 5) / 2)
    assert macro_f1([0, 0], [0, 0], 3) == pytest.approx(1 / 3)  # absent classes score 0


def test_bootstrap_ci_brackets_mean_and_narrows_with_n():
    rng = np.random.default_rng(0)
    small = rng.random(100) < 0.7
    large = rng.random(10_000) < 0.7
    lo_s, hi_s = bootstrap_ci(small, 2000, seed=1)
    lo_l, hi_l = bootstrap_ci(large, 2000, seed=1)
    assert lo_s <= small.mean() <= hi_s and lo_l <= large.mean() <= hi_l
    assert (hi_l - lo_l) < (hi_s - lo_s) / 5
    assert bootstrap_ci(small, 500, seed=3) == bootstrap_ci(small, 500, seed=3)


def test_summarize_percentiles():
    s = summarize([1.0, 2.0, 3.0, 4.0, 100.0])
    assert s["p50"] == 3.0 and s["iqr"] == 2.0 and s["p95"] == pytest.approx(80.8)
    assert summarize([]) == {"p50": None, "iqr": None, "p95": None}


def test_timer_keeps_one_sample_per_block():
    import torch

    t = Timer(torch.device("cpu"))
    for _ in range(3):
        with t:
            sum(range(1000))
    assert len(t.samples_ms) == 3 and all(x > 0 for x in t.samples_ms)

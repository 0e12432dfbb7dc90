"""Warnings on ok runs whose training went wrong (bench/analysis/health.py), in the terminal and the report."""

import math

from bench.analysis import health
from bench.measure.evaluate import accuracy, macro_f1
from bench.render.html import render
from bench.render.terminal import warnings_text


def curve(start: float, end: float, n: int = 100) -> list[float]:
    return [start + (end - start) * i / (n - 1) for i in range(n)]


def run_row(losses, status="ok", **over) -> dict:
    return {
        "kind": "run",
        "status": status,
        "task": "rotten_tomatoes",
        "model": "m",
        "method": "lora",
        "seed": 0,
        "method_params": {"r": 64, "alpha": 128, "lr": 1e-3},
        "accuracy": 0.6,
        "loss_curve": losses,
        **over,
    }


def test_a_loss_that_rises_is_flagged_and_one_that_falls_is_not():
    assert health.loss_warning(curve(0.45, 0.70)).startswith("training loss rose: 0.")
    assert health.loss_warning(curve(0.45, 0.10)) is None
    assert health.loss_warning(curve(0.69, 0.69)) is None  # flat: not learning is not divergence
    assert health.loss_warning(curve(0.45, 0.70, n=10)) is None  # too few steps to tell
    assert "non-finite" in health.loss_warning(curve(0.45, 0.2)[:50] + [math.nan] * 50)


def test_a_rise_just_under_the_threshold_is_not_flagged():
    n, k = 100, 10
    flat = [0.5] * n
    assert health.loss_warning(flat[: n - k] + [0.5 * health.ROSE * 0.99] * k) is None
    assert health.loss_warning(flat[: n - k] + [0.5 * health.ROSE * 1.01] * k) is not None


def test_only_ok_runs_are_warned_about_and_the_setting_is_named():
    rows = [
        run_row(curve(0.45, 0.7)),
        run_row(curve(0.45, 0.1), seed=1),
        run_row(curve(0.45, 0.7), status="failed", error="boom"),
        {"kind": "switch", "status": "ok"},
    ]
    (w,) = health.warnings(rows)
    assert (w["seed"], w["setting"]) == (0, "r=64, alpha=128, lr 0.001")
    text = warnings_text(rows)
    assert text.splitlines()[1].startswith(
        "  lora rotten_tomatoes seed 0 (r=64, alpha=128, lr 0.001): training loss rose"
    )
    assert warnings_text(rows[1:]) == ""


def test_the_report_lists_the_warning_beside_the_failures():
    html = render([run_row(curve(0.45, 0.7)), run_row(curve(0.45, 0.1), seed=1)])
    assert "Warnings: ok runs to read with care" in html and html.count("training loss rose") == 1
    assert "Warnings: ok runs" not in render([run_row(curve(0.45, 0.1))])


def test_a_classifier_that_answers_one_class_or_no_better_than_the_majority_is_flagged():
    ok = run_row(curve(0.45, 0.1), accuracy=0.85, label_counts=[45, 55], pred_counts=[44, 56])
    assert health.prediction_warning(ok) is None
    one = {**ok, "accuracy": 0.55, "pred_counts": [0, 100]}
    assert health.prediction_warning(one) == "answers one class (label 1) for 100% of the test examples"
    chance = {**ok, "accuracy": 0.55, "pred_counts": [40, 60]}
    assert "no better than always answering the commonest class (0.550)" in health.prediction_warning(chance)
    skewed = {**one, "label_counts": [2, 98], "accuracy": 0.98}  # a test set of one class: nothing to say
    assert health.prediction_warning(skewed) is None
    assert health.prediction_warning({**one, "label_counts": None}) is None  # rows from before the counts
    both = health.warnings([{**one, "loss_curve": curve(0.45, 0.7)}])[0]["warning"]
    assert both.startswith("training loss rose") and "; answers one class" in both


def test_a_run_records_its_class_counts(tiny_bert_dir, tiny_task, tmp_path):
    from bench.cli import main
    from bench.rows.store import read_rows
    from tests.e2e.test_cli import FAST

    out = tmp_path / "rows.jsonl"
    assert (
        main(
            [
                "run",
                "--model",
                str(tiny_bert_dir),
                "--tasks",
                str(tiny_task),
                "--methods",
                "head_only",
                "--limit",
                "16",
                "--output",
                str(out),
                "--no-isolate",
                *FAST,
            ]
        )
        == 0
    )
    (row,) = read_rows(out)
    assert sum(row["label_counts"]) == sum(row["pred_counts"]) == row["n_eval"] and len(row["label_counts"]) == 2
    assert row["accuracy"] <= sum(min(a, b) for a, b in zip(row["label_counts"], row["pred_counts"])) / row["n_eval"]


def test_rows_from_before_the_class_counts_show_one_class_in_macro_f1():
    """Answering one class c for every example: macro-F1 = 2a / (1 + a) / k, read back from the row."""
    labels = [0] * 45 + [1] * 55 + [2] * 20
    one = [1] * len(labels)
    row = run_row(curve(0.45, 0.1), accuracy=accuracy(one, labels), macro_f1=macro_f1(one, labels, 3))
    assert "answers one class for every test example" in health.prediction_warning(row)
    assert "/ 3 at accuracy 0.458" in health.prediction_warning(row)
    mostly = [1] * (len(labels) - 1) + [0]  # one answer differs: not one class
    row = run_row(curve(0.45, 0.1), accuracy=accuracy(mostly, labels), macro_f1=macro_f1(mostly, labels, 3))
    assert health.prediction_warning(row) is None
    good = labels[:]
    good[:10] = [1] * 10
    row = run_row(curve(0.45, 0.1), accuracy=accuracy(good, labels), macro_f1=macro_f1(good, labels, 3))
    assert health.prediction_warning(row) is None
    assert health.prediction_warning(run_row(curve(0.45, 0.1), accuracy=0.5)) is None  # no macro-F1: nothing to read

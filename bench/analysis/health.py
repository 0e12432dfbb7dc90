"""Warnings about ok runs whose numbers should not be read at face value (pure, from rows).

A run can finish, evaluate and be recorded `ok` and still have trained badly: a learning rate too high
for its rank sends the loss back up to chance (llm_rt's LoRA r = 64 at 1e-3: 0.45 at the start, 0.71 at
the end, test accuracy 0.578), or a classifier ends no better than always answering the commonest class
(llm's prefix tuning: 0.555, below the 0.558 share of its test set's commonest class). Such a row stays
`ok`, since it is a true measurement of that setting and a sweep's selection must see it, but the terminal
and the report name it beside the failures. The class counts behind the second check are on rows written
since they were added; an older classification row still shows one class answered for every example in its
accuracy and macro-F1 (then macro-F1 is exactly 2a / (1 + a) / k for accuracy a over k classes).

A flagged run supports no verdict: the claims and the choice under a budget read `healthy(rows)`, which also
leaves out runs on random weights (shape-only models: speed only, no accuracy; never flagged either).
"""

from __future__ import annotations

import math

from bench.analysis.selection import main_rows, speed_only
from bench.rows.schema import kind_of

ROSE = 1.1  # the last tenth of the steps averages this many times the first tenth's loss, or more
MIN_STEPS = 20  # fewer steps: too few to tell a trend from noise
ONE_CLASS = 0.95  # a classifier giving one answer to this share of the test examples, or more
MAX_CLASSES = 64  # rows without class counts: the class counts k tried when reading one class from macro-F1


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def loss_warning(losses: list[float]) -> str | None:
    """'training loss rose ...' when the loss ended higher than it started or went non-finite; else None."""
    if any(not math.isfinite(x) for x in losses):
        return "training loss went non-finite (diverged)"
    if len(losses) < MIN_STEPS:
        return None
    k = max(1, len(losses) // 10)
    head, tail = _mean(losses[:k]), _mean(losses[-k:])
    if tail >= ROSE * head:
        return f"training loss rose: {head:.3f} over the first {k} steps, {tail:.3f} over the last {k} (diverged?)"
    return None


def prediction_warning(row: dict) -> str | None:
    """A classification run's test answers: all (or nearly all) one class, or accuracy no better than the
    majority class's share (None without the class counts, or when the test set is itself one class)."""
    labels, preds = row.get("label_counts"), row.get("pred_counts")
    if not labels or not preds or not sum(labels) or not sum(preds):
        return _one_class_from_f1(row)
    majority = max(labels) / sum(labels)
    if majority >= ONE_CLASS:
        return None
    top = max(preds) / sum(preds)
    if top >= ONE_CLASS:
        return f"answers one class (label {preds.index(max(preds))}) for {top:.0%} of the test examples"
    acc = row.get("accuracy")
    if isinstance(acc, (int, float)) and acc <= majority + 1e-9:
        return f"accuracy {acc:.3f} is no better than always answering the commonest class ({majority:.3f})"
    return None


def _one_class_from_f1(row: dict) -> str | None:
    """A row without class counts that answered one class c for every example: its accuracy a is c's share
    of the test set, c's F1 is 2a / (1 + a) and every other class's is 0, so macro-F1 over k classes is
    2a / (1 + a) / k exactly (evaluate.macro_f1). No other answer pattern lands on that value."""
    a, f1 = row.get("accuracy"), row.get("macro_f1")
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (a, f1)) or not 0 < a < 1:
        return None
    one = 2 * a / (1 + a)
    k = next((k for k in range(2, MAX_CLASSES + 1) if math.isclose(f1 * k, one, rel_tol=1e-9)), None)
    if k is None:
        return None
    return f"answers one class for every test example (macro-F1 {f1:.3f} = 2a / (1 + a) / {k} at accuracy {a:.3f})"


def _setting(row: dict) -> str:
    p = row.get("method_params") or {}
    text = ", ".join(f"{k}={p[k]}" for k in ("r", "alpha", "num_virtual_tokens") if k in p)
    return ", ".join(
        filter(None, [text, f"lr {p['lr']:g}" if isinstance(p.get("lr"), (int, float)) and p["lr"] else ""])
    )


def run_warning(row: dict) -> str | None:
    """The warnings on one ok run row, joined ("" or None: nothing to say, or not an ok run)."""
    if kind_of(row) != "run" or row.get("status") != "ok" or speed_only(row):
        return None  # random weights trained on random labels: nothing to read into the loss
    return "; ".join(filter(None, [loss_warning(row.get("loss_curve") or []), prediction_warning(row)])) or None


def healthy(rows: list[dict]) -> list[dict]:
    """The rows a verdict may read: the rows the main numbers use (each sweep's setting selected with every
    run in view, so a flagged point never moves the selection), less the ok runs flagged here. Keyed by the
    run itself: a diverged sweep point does not take the selected setting's run of the same seed with it."""
    return [r for r in main_rows(rows) if not run_warning(r)]


def warnings(rows: list[dict]) -> list[dict]:
    """One entry per ok run with a warning: task, method, seed, setting (its rank and rate) and the text."""
    out = []
    for r in rows:
        text = run_warning(r)
        if text:
            out.append(
                {
                    "task": r.get("task"),
                    "method": r.get("method"),
                    "seed": r.get("seed"),
                    "setting": _setting(r) or "-",
                    "warning": text,
                }
            )
    return out

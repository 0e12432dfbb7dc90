"""Warnings about ok runs whose numbers should not be read at face value (pure, from rows).

A run can finish, evaluate and be recorded `ok` and still have trained badly: a learning rate too high
for its rank sends the loss back up to chance (llm_rt's LoRA r = 64 at 1e-3: 0.45 at the start, 0.71 at
the end, test accuracy 0.578), or a classifier ends no better than always answering the commonest class
(llm's prefix tuning: 0.555, below the 0.558 share of its test set's commonest class). Such a row stays
`ok`, since it is a true measurement of that setting and a sweep's selection must see it, but the terminal
and the report name it beside the failures. The class counts behind the second check are on rows written
since they were added.
"""

from __future__ import annotations

import math

ROSE = 1.1  # the last tenth of the steps averages this many times the first tenth's loss, or more
MIN_STEPS = 20  # fewer steps: too few to tell a trend from noise
ONE_CLASS = 0.95  # a classifier giving one answer to this share of the test examples, or more


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
        return None
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


def _setting(row: dict) -> str:
    p = row.get("method_params") or {}
    text = ", ".join(f"{k}={p[k]}" for k in ("r", "alpha", "num_virtual_tokens") if k in p)
    return ", ".join(
        filter(None, [text, f"lr {p['lr']:g}" if isinstance(p.get("lr"), (int, float)) and p["lr"] else ""])
    )


def warnings(rows: list[dict]) -> list[dict]:
    """One entry per ok run with a warning: task, method, seed, setting (its rank and rate) and the text."""
    out = []
    for r in rows:
        if r.get("kind", "run") != "run" or r.get("status") != "ok":
            continue
        text = "; ".join(filter(None, [loss_warning(r.get("loss_curve") or []), prediction_warning(r)]))
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


def warnings_text(rows: list[dict]) -> str:
    """The terminal's list of warnings ("" when none)."""
    found = warnings(rows)
    if not found:
        return ""
    return "warnings (ok runs to read with care):\n" + "\n".join(
        f"  {w['method']} {w['task']} seed {w['seed']} ({w['setting']}): {w['warning']}" for w in found
    )

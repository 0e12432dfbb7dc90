"""Accuracy, macro-F1, bootstrap confidence intervals; exact match, ROUGE-L and BLEU for generation (pure)."""

from __future__ import annotations

import numpy as np


def accuracy(preds, labels) -> float:
    p, y = np.asarray(preds), np.asarray(labels)
    return float((p == y).mean()) if len(y) else float("nan")


def macro_f1(preds, labels, num_labels: int) -> float:
    p, y = np.asarray(preds), np.asarray(labels)
    f1s = []
    for c in range(num_labels):
        tp = int(((p == c) & (y == c)).sum())
        fp = int(((p == c) & (y != c)).sum())
        fn = int(((p != c) & (y == c)).sum())
        denom = 2 * tp + fp + fn
        f1s.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(f1s))


def bootstrap_ci(correct, n_samples: int = 1000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap of the mean of per-example scores (0/1 correctness, or ROUGE-L)."""
    c = np.asarray(correct, dtype=float)
    if len(c) == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = c[rng.integers(0, len(c), size=(n_samples, len(c)))].mean(axis=1)
    lo, hi = np.percentile(means, [100 * (1 - level) / 2, 100 * (1 + level) / 2])
    return float(lo), float(hi)


# ----------------------------------------------------------------------------- generation


def _ref_lists(refs) -> list[list[str]]:
    """Each example's references as a list: a plain string is one reference."""
    return [[r] if isinstance(r, str) else list(r) for r in refs]


def exact_match(preds: list[str], refs) -> list[int]:
    """1 where the answer equals a reference after stripping whitespace. `refs`: one string or a list per example."""
    return [int(any(p.strip() == r.strip() for r in rs)) for p, rs in zip(preds, _ref_lists(refs))]


def rouge_l(preds: list[str], refs) -> list[float]:
    """ROUGE-L F-measure per example against its best reference (Google's rouge-score, Porter stemmer)."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    return [scorer.score_multi(rs, p)["rougeL"].fmeasure for p, rs in zip(preds, _ref_lists(refs))]


def bleu(preds: list[str], refs) -> float:
    """Corpus BLEU with every reference (sacrebleu's defaults: 13a tokenizer, exp smoothing), 0-100 scale."""
    import sacrebleu

    lists = _ref_lists(refs)
    width = max((len(rs) for rs in lists), default=1)
    streams = [[rs[k] if k < len(rs) else None for rs in lists] for k in range(width)]  # None: no k-th reference
    return float(sacrebleu.corpus_bleu(preds, streams).score)

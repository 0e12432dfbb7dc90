import math

import pytest
import torch

from bench.measure.spectrum import effective_rank, energy_top, singular_values, target_weights, update_spectrum


def test_rank_r_update_has_exactly_r_nonzero_singular_values():
    g = torch.Generator().manual_seed(0)
    b, a = torch.randn(64, 3, generator=g), torch.randn(3, 48, generator=g)
    s = singular_values(b.double() @ a.double())
    assert (s > 1e-9 * s[0]).sum() == 3
    assert energy_top(s, 3) == pytest.approx(1.0)
    assert energy_top(s, 1) < 1.0


def test_effective_rank_bounds():
    assert effective_rank(torch.tensor([1.0, 0.0, 0.0])) == pytest.approx(1.0)
    assert effective_rank(torch.ones(10)) == pytest.approx(10.0)
    assert 1 < effective_rank(torch.tensor([3.0, 1.0, 0.5])) < 3


def test_update_spectrum_of_low_rank_and_full_rank_updates():
    g = torch.Generator().manual_seed(1)
    w0 = {"q": torch.randn(32, 32, generator=g), "v": torch.randn(32, 32, generator=g)}
    low = {k: v + 0.01 * torch.randn(32, 2, generator=g) @ torch.randn(2, 32, generator=g) for k, v in w0.items()}
    noise = {k: v + 0.01 * torch.randn(32, 32, generator=g) for k, v in w0.items()}
    lo, hi = update_spectrum(w0, low), update_spectrum(w0, noise)
    assert lo["energy_top_mean"]["2"] == pytest.approx(1.0) and lo["effective_rank_mean"] < 2.01
    assert hi["energy_top_mean"]["2"] < 0.3 and hi["effective_rank_mean"] > 15
    assert lo["matrices"] == 2 and lo["full_rank"] == 32 and 0 < lo["rel_norm_mean"] < 0.05
    assert len(lo["per_matrix"]["q"]["singular_values"]) == 32 and lo["per_matrix"]["q"]["singular_values"][0] == 1.0


def test_target_weights_picks_lora_targets():
    from transformers import BertModel

    from tests.conftest import tiny_bert_config

    w = target_weights(BertModel(tiny_bert_config()), ("query", "value"))
    assert len(w) == 2 * 2 and all(k.endswith(("query", "value")) for k in w)
    assert not math.isnan(float(next(iter(w.values())).sum()))

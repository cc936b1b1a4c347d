import math

import pytest
import torch
import torch.nn.functional as F

from lexmotion.models.losses import InfoNCE, flops_terms, quadratic_warmup


def naive_infonce(text, motion, temperature, skip=None):
    text, motion = F.normalize(text, dim=-1), F.normalize(motion, dim=-1)
    B = len(text)
    t2m = m2t = 0.0
    for i in range(B):
        keep = [j for j in range(B) if j == i or not (skip is not None and skip[i][j])]
        scores = [float(text[i] @ motion[j]) / temperature for j in keep]
        t2m += -(float(text[i] @ motion[i]) / temperature - math.log(sum(math.exp(s) for s in scores)))
        keep = [j for j in range(B) if j == i or not (skip is not None and skip[j][i])]
        scores = [float(text[j] @ motion[i]) / temperature for j in keep]
        m2t += -(float(text[i] @ motion[i]) / temperature - math.log(sum(math.exp(s) for s in scores)))
    return t2m / B, m2t / B


def test_infonce_matches_a_naive_loop():
    torch.manual_seed(0)
    text, motion = torch.randn(5, 8), torch.randn(5, 8)
    out = InfoNCE(temperature=0.1)(text, motion)
    t2m, m2t = naive_infonce(text, motion, 0.1)
    assert out["t2m"].item() == pytest.approx(t2m, rel=1e-5) and out["m2t"].item() == pytest.approx(m2t, rel=1e-5)


def test_near_duplicate_captions_are_not_negatives():
    torch.manual_seed(1)
    text, motion = torch.randn(4, 8), torch.randn(4, 8)
    sim = torch.eye(4)
    sim[0, 2] = sim[2, 0] = 0.95
    out = InfoNCE(temperature=0.1, filter_threshold=0.9)(text, motion, sim)
    skip = (sim >= 0.9).tolist()
    for i in range(4):
        skip[i][i] = False
    t2m, m2t = naive_infonce(text, motion, 0.1, skip)
    assert out["t2m"].item() == pytest.approx(t2m, rel=1e-5) and out["m2t"].item() == pytest.approx(m2t, rel=1e-5)


def test_flops_terms_and_warmup():
    terms = flops_terms(torch.ones(2, 3), torch.zeros(2, 3))
    assert terms["flops_text"].item() == 3.0 and terms["flops_motion"].item() == 0.0
    assert quadratic_warmup(0, 100, 1e-3) == 0.0
    assert quadratic_warmup(50, 100, 1e-3) == pytest.approx(2.5e-4)
    assert quadratic_warmup(100, 100, 1e-3) == 1e-3

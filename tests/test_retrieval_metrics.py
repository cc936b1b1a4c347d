import numpy as np
import pytest

from lexmotion.metrics import ranks, retrieval_metrics


def naive_rank(row, positive):
    """Sort candidates, find the best positive, average the positions of its score's tie."""
    best = max(s for s, p in zip(row, positive) if p)
    order = sorted(row, reverse=True)
    positions = [i + 1 for i, s in enumerate(order) if s == best]
    return sum(positions) / len(positions)


def test_ranks_match_a_naive_implementation():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, size=(40, 30)).astype(float)      # many ties on purpose
    positives = rng.random((40, 30)) < 0.1
    positives[np.arange(30), np.arange(30)] = True
    positives[30:, 0] = True
    fast = ranks(scores, positives)
    slow = [naive_rank(scores[q], positives[q]) for q in range(40)]
    np.testing.assert_allclose(fast, slow)


def test_metrics_on_a_hand_checked_case():
    scores = np.array([[0.9, 0.1, 0.2],     # text 0: motion 0 first        -> rank 1
                       [0.5, 0.5, 0.1],     # text 1: tie with motion 0     -> rank 1.5
                       [0.7, 0.8, 0.6]])    # text 2: motion 2 third        -> rank 3
    out = retrieval_metrics(scores, np.eye(3, dtype=bool))
    # TMR counts rank 1.5 (0-based position 0.5 < 1) in R@1
    assert out["t2m"]["R@1"] == pytest.approx(200 / 3, abs=0.01)
    assert out["t2m"]["R@2"] == pytest.approx(200 / 3, abs=0.01)
    assert out["t2m"]["R@3"] == 100.0 and out["t2m"]["MedR"] == 1.5
    # motion -> text: columns. motion 0: 0.9 best -> 1; motion 1: 0.8 (text 2) > 0.5 -> 2; motion 2: 0.6 best -> 1
    assert out["m2t"]["R@1"] == pytest.approx(200 / 3, abs=0.01) and out["m2t"]["MedR"] == 1.0


def test_every_query_needs_a_positive():
    with pytest.raises(ValueError):
        ranks(np.zeros((2, 2)), np.array([[True, False], [False, False]]))


def test_label_positives_that_tie_are_a_hit():
    # a motion query over 4 captions; captions 0, 1, 2 are identical (one label), caption 3 another label
    scores = np.array([[0.8, 0.8, 0.8, 0.5]])
    positives = np.array([[True, True, True, False]])
    assert ranks(scores, positives)[0] == 2.0                       # TMR: positions 0, 1, 2 averaged
    assert ranks(scores, positives, ties="negatives")[0] == 1.0     # label data: any of them is right
    scores = np.array([[0.8, 0.8, 0.9, 0.8]])                        # a negative above, one tied
    assert ranks(scores, np.array([[True, True, False, False]]), ties="negatives")[0] == 1 + 1 + 0.5

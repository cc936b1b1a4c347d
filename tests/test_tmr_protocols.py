"""The retrieval metrics against a TMR example computed by hand (TMR's src/model/metrics.py rules:
0-based tie-averaged positions, R@k counts positions < k, MedR = median position + 1,
threshold positives where the captions' cosine > 2 * 0.95 - 1), and TMR's protocol names."""
import numpy as np
import pytest

from lexmotion.metrics import retrieval_metrics
from retrieval.evaluate import TMR_NAMES, threshold_positives

#                 motion 0  1    2    3
SCORES = np.array([[0.9, 0.8, 0.1, 0.2],     # text 0: its motion first                 -> rank 1
                   [0.7, 0.5, 0.6, 0.5],     # text 1: two above, tied with motion 3    -> rank (3 + 4) / 2 = 3.5
                   [0.2, 0.3, 0.4, 0.9],     # text 2: one above                        -> rank 2
                   [0.1, 0.2, 0.3, 0.8]])    # text 3                                   -> rank 1
# sentence cosine similarity of the captions: captions 0 and 1 say the same thing (0.95 > 0.9)
CAPTION_COS = np.array([[1.0, 0.95, 0.2, 0.1],
                        [0.95, 1.0, 0.3, 0.2],
                        [0.2, 0.3, 1.0, 0.85],      # 0.85: not above 0.9, not similar
                        [0.1, 0.2, 0.85, 1.0]])


def test_all_protocol_by_hand():
    m = retrieval_metrics(SCORES, np.eye(4, dtype=bool))
    # t2m ranks 1, 3.5, 2, 1: R@1 2/4; R@2 3/4; R@3 4/4 (position 2.5 < 3, as TMR counts); MedR 1.5
    assert m["t2m"] == {"R@1": 50.0, "R@2": 75.0, "R@3": 100.0, "R@5": 100.0, "R@10": 100.0, "MedR": 1.5}
    # m2t (columns as queries) ranks 1, 2, 2, 2
    assert m["m2t"] == {"R@1": 25.0, "R@2": 100.0, "R@3": 100.0, "R@5": 100.0, "R@10": 100.0, "MedR": 2.0}


def test_threshold_protocol_by_hand():
    positives = threshold_positives(CAPTION_COS, np.eye(4, dtype=bool))
    assert positives[0, 1] and positives[1, 0] and not positives[2, 3]
    m = retrieval_metrics(SCORES, positives)
    # text 1 now also accepts motion 0 (0.7, the best of its row) -> rank 1; text 0 keeps rank 1
    assert m["t2m"] == {"R@1": 75.0, "R@2": 100.0, "R@3": 100.0, "R@5": 100.0, "R@10": 100.0, "MedR": 1.0}
    # motion 1 now also accepts text 0 (0.8, the best of its column) -> rank 1
    assert m["m2t"]["R@1"] == 50.0 and m["m2t"]["MedR"] == 1.5


def test_threshold_is_strict_as_tmr():
    cos = np.array([[1.0, 0.9 - 1e-9], [0.9 - 1e-9, 1.0]])
    assert not threshold_positives(cos, np.eye(2, dtype=bool))[0, 1]


def test_tmr_protocol_names(capsys):
    assert TMR_NAMES == {"normal": "all", "nsim": "dissimilar", "guo": "batch32"}
    from lexmotion.app.cli import build_parser
    for name in ("normal", "nsim", "guo"):
        args = build_parser().parse_args(["eval", "retrieval", "--model", "m", "--data", "d", "--protocol", name])
        assert args.protocol == name


@pytest.mark.parametrize("n", [40, 70])
def test_batch32_sorts_the_ids_first(n):
    """TMR's guo protocol: sorted ids, np.random.seed(0) shuffle, batches of 32, remainder dropped."""
    ids = [f"{i:05d}" for i in np.random.default_rng(1).permutation(n)]
    by_id = np.array(sorted(range(n), key=lambda i: ids[i]))
    ours = by_id[np.random.RandomState(0).permutation(n)]
    np.random.seed(0)
    idx = np.arange(n)
    np.random.shuffle(idx)
    tmr = [sorted(ids)[i] for i in idx]
    assert [ids[i] for i in ours] == tmr

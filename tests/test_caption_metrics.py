"""Caption metrics on hand-checked examples."""
import pytest

pytest.importorskip("pycocoevalcap", reason="the caption metrics need pycocoevalcap (pip install pycocoevalcap)")

from captioning.metrics import bertscore, caption_metrics, coco_metrics


def test_identical_captions_score_full_marks():
    preds = ["a person walks forward", "someone jumps twice", "a man waves his left hand"]
    refs = [[p] for p in preds]
    m = coco_metrics(preds, refs)
    assert m["BLEU@1"] == pytest.approx(100) and m["BLEU@4"] == pytest.approx(100)
    assert m["ROUGE-L"] == pytest.approx(100)
    assert bertscore(preds, refs) == pytest.approx(100, abs=1e-3)


def test_bleu1_by_hand():
    # Candidate "a person walks" vs reference "a person walks forward": 3/3 unigrams match,
    # brevity penalty exp(1 - 4/3) = 0.7165.
    m = coco_metrics(["a person walks"], [["a person walks forward"]])
    assert m["BLEU@1"] == pytest.approx(100 * 0.71653, abs=0.01)


def test_rouge_l_by_hand():
    # LCS("a person runs", "a person walks") = 2, P = R = 2/3, so F = 2/3 with beta 1.2.
    m = coco_metrics(["a person runs"], [["a person walks"]])
    assert m["ROUGE-L"] == pytest.approx(100 * 2 / 3, abs=0.01)


def test_multiple_references_and_normalisation():
    # The closest reference counts; case and punctuation do not.
    m = coco_metrics(["A person walks forward."], [["someone jumps up", "a person walks forward"]])
    assert m["BLEU@4"] == pytest.approx(100, abs=1e-6)


def test_bertscore_orders_related_above_unrelated():
    refs = [["a person walks forward slowly"]]
    assert bertscore(["someone walks slowly forward"], refs) > bertscore(["the cat sat on the mat"], refs) + 10


def test_all_metrics_keys():
    m = caption_metrics(["a person walks", "someone jumps"], [["a person walks forward"], ["a person jumps"]])
    assert set(m) == {"BLEU@1", "BLEU@4", "ROUGE-L", "CIDEr", "BERTScore"}
    assert all(isinstance(v, float) for v in m.values())


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError):
        coco_metrics(["a"], [["a"], ["b"]])

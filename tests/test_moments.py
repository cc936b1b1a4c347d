"""`lexmotion eval moments`: sequences of real clips with known boundaries, and what is scored on them."""
import json

import numpy as np
import pytest
from conftest import tiny_lexical_with_words
from test_hardening import fails

import lexmotion
from lexmotion.app.cli import main
from lexmotion.data.dataset import MotionDataset
from lexmotion.data.features import WORKING_FPS, heading, to_canonical
from lexmotion.data.skeletons import get_skeleton
from retrieval.moments import (
    Sequence,
    build_sequences,
    eligible_clips,
    iou,
    join_clips,
    localisation_words,
    moment_recall,
)


def test_iou():
    assert iou((0, 2), (1, 3)) == pytest.approx(1 / 3)
    assert iou((0, 1), (2, 3)) == 0 and iou((0, 2), (0, 2)) == 1


def test_moment_recall_counts_only_windows_of_the_query_sequence():
    spans = [(0, 0.0, 2.0), (0, 2.0, 4.0), (1, 0.0, 2.0)]
    queries = [(0, {"start": 0.0, "end": 2.0}), (1, {"start": 0.0, "end": 2.0})]
    scores = np.array([[0.1, 0.9, 0.5], [0.9, 0.1, 0.5]])      # query 0 ranks the wrong moment first
    r = moment_recall(scores, spans, queries)
    assert r["moment_R1_iou0.5"] == 0 and r["moment_R5_iou0.5"] == 1 and r["oracle_iou0.5"] == 1


def test_a_hit_is_a_moment_grown_from_its_best_window():
    """The query's part is 0-4 s; its best window (0-2 s) covers half of it alone, and the 1-4 s window that scores
    nearly as well grows the hit to the whole part. The 3-6 s window overlaps the grown hit, so it is no hit of its
    own; tolerance 0 keeps single windows, as the benchmark ranked them before."""
    spans = [(0, 0.0, 2.0), (0, 1.0, 4.0), (0, 3.0, 6.0), (1, 0.0, 2.0)]
    queries = [(0, {"start": 0.0, "end": 4.0})]
    scores = np.array([[0.9, 0.8, 0.2, 0.5]])
    grown, single = moment_recall(scores, spans, queries), moment_recall(scores, spans, queries, tolerance=0.0)
    assert grown["moment_R1_iou0.7"] == 1 and single["moment_R1_iou0.5"] == 1 and single["moment_R1_iou0.7"] == 0


def test_a_joined_clip_starts_where_and_facing_where_the_last_ended(sample_root):
    skeleton = get_skeleton("kitml-cmu")
    ids = [json.loads(line)["id"] for line in (sample_root / "annotations.jsonl").read_text().splitlines()[:2]]
    clips = [(np.load(sample_root / "joints" / f"{i}.npy"), 12.5) for i in ids]
    joints, spans = join_clips(clips, skeleton, blend_s=0.05)      # one blended frame: the joint is visible
    first = len(clips[0][0]) * WORKING_FPS / 12.5
    assert spans[0][0] == 0 and spans[-1][1] == pytest.approx(len(joints) / WORKING_FPS)
    assert spans[0][1] == spans[1][0] and abs(spans[0][1] * WORKING_FPS - first) < 2
    cut = round(spans[0][1] * WORKING_FPS)
    pelvis = skeleton.canonical_indices()[0]
    step = np.linalg.norm((joints[cut + 1, pelvis] - joints[cut - 1, pelvis])[[0, 2]])
    assert step < 0.2                                              # no jump across the ground at the joint
    turn = np.angle(np.exp(1j * np.diff(heading(to_canonical(joints[cut - 1:cut + 2], skeleton)))))
    assert np.abs(turn).max() < 0.5


def test_words_every_part_holds_are_left_out():
    from lexmotion.models.text import load_text_backbone
    tokenizer = load_text_backbone()[0]
    seq = Sequence(np.zeros((60, 105)), [{"caption": "a person walks and waves"}, {"caption": "someone walking, then jumps"},
                                         {"caption": "a man walks slowly"}])
    words = dict(localisation_words(tokenizer, seq))
    assert "walks" not in words and "walking" not in words        # every part walks: nothing to place
    assert words["waves"] == [0] and words["jumps"] == [1] and words["slowly"] == [2]


@pytest.fixture(scope="module")
def lex(tiny_setup, tmp_path_factory):
    root = tmp_path_factory.mktemp("moments")
    tiny_lexical_with_words(tiny_setup, root / "lex")
    return root / "lex"


def test_sequences_are_seeded_and_never_share_a_clip_or_a_caption(tiny_setup):
    a = build_sequences(tiny_setup / "kit", "train", parts=2, seed=3)
    b = build_sequences(tiny_setup / "kit", "train", parts=2, seed=3)
    assert [s.parts for s in a] == [s.parts for s in b] and len(a) >= 2
    ids = [p["id"] for s in a for p in s.parts]
    assert len(ids) == len(set(ids))
    ds = MotionDataset(tiny_setup / "kit")
    assert len(ids) <= len(eligible_clips(ds, "train"))
    for s in a:
        assert s.parts[0]["caption"] != s.parts[1]["caption"] and s.parts[0]["end"] == s.parts[1]["start"]


def test_eval_moments_end_to_end(capsys, tiny_setup, lex, tmp_path):
    out = tmp_path / "m.json"
    assert main([str(a) for a in ["eval", "moments", "--model", lex, "--data", tiny_setup / "kit", "--split", "train",
                                  "--parts", 2, "--json", out, "--quiet"]]) == 0
    text = capsys.readouterr().out
    assert "moment_R1_iou0.5" in text and "baseline: random" in text
    result = json.loads(out.read_text())
    assert result["moment_tolerance"] == 0.2 and result["windows_s"] == [2.0, 4.0]      # the tiny encoder takes 4 s
    for key in ("moment_R1_iou0.5", "moment_R5_iou0.5", "moment_R1_iou0.7", "word_localisation",
                "word_localisation_logits"):
        assert set(result[key]) == {"mean", "std"} and 0 <= result[key]["mean"] <= 1
    run = result["runs"][str(lex)]
    assert run["windows"] > run["queries"]
    # the logits' peak is the weights' wherever a word fires, so it can only add the silent words it places
    by_weight, by_logit = (np.array(run["per_item"][k]) for k in ("word_localisation", "word_localisation_logits"))
    assert (by_logit >= by_weight).all()
    assert (by_logit > by_weight).sum() == round(run["silent_placed"] * run["silent"]) if run["silent"] else True


def test_against_gives_a_paired_interval_on_the_same_queries_and_words(capsys, tiny_setup, lex, tmp_path):
    out = tmp_path / "m.json"
    assert main([str(a) for a in ["eval", "moments", "--model", lex, "--against", lex, "--data", tiny_setup / "kit",
                                  "--split", "train", "--parts", 2, "--json", out, "--quiet", "--seed", 1]]) == 0
    assert "paired 95% interval" in capsys.readouterr().out
    result = json.loads(out.read_text())
    run = result["runs"][str(lex)]
    for key, outcomes in run["per_item"].items():            # each mean is its per-item outcomes' mean
        assert len(outcomes) == (run["words"] if key.startswith("word_localisation") else run["queries"])
        assert np.mean(outcomes) == pytest.approx(run[key])
    for r in result["comparison"].values():                # a checkpoint against itself: exactly no difference
        assert r["difference"] == 0 and r["low"] == r["high"] == 0 and r["verdict"] == "no measurable difference"


@pytest.mark.parametrize("options,message", [(["--parts", 1], "--parts must be at least 2"),
                                             (["--sequences", 50], "ask for at most"),
                                             (["--moment-tolerance", 1.5], "--moment-tolerance must be a number from 0 to 1"),
                                             (["--windows", "2,x"], "--windows takes window lengths in seconds"),
                                             (["--windows", "0.1"], "--windows must be from one patch"),
                                             (["--proposals", "segments", "--windows", "2"], "--proposals segments cuts"),
                                             (["--proposals", "segments", "--moment-tolerance", "0.1"],
                                              "--proposals segments cuts")])
def test_bad_moment_requests_are_one_line(capsys, tiny_setup, lex, options, message):
    fails(capsys, ["eval", "moments", "--model", lex, "--data", tiny_setup / "kit", "--split", "train", *options],
          message)


def test_a_silent_word_is_a_miss_by_its_weights_and_placed_by_its_logits(monkeypatch, tiny_setup, lex):
    from retrieval import moments
    model = lexmotion.load(lex)
    seqs = build_sequences(tiny_setup / "kit", "train", parts=2, seed=3)
    # every word silent, and its logits peaking at the first second of the sequence
    monkeypatch.setattr(moments, "word_peaks", lambda model, features, words: [(None, 0.0)] * len(words))
    out = moments.localise_words(model, seqs)
    expected = [moments.inside(0.0, s, holders) for s in seqs for _, holders in localisation_words(model.tokenizer, s)]
    assert out["silent"] == out["words"] == len(expected) > 0 and out["word_localisation"] == 0
    assert out["word_localisation_logits"] == out["silent_placed"] == pytest.approx(np.mean(expected))
    assert out["word_silent"] == [1] * len(expected) and out["silent_chance"] == pytest.approx(out["word_chance"])


def test_one_window_length_is_what_an_index_of_such_windows_holds(capsys, tiny_setup, lex, tmp_path):
    out = tmp_path / "m.json"
    assert main([str(a) for a in ["eval", "moments", "--model", lex, "--data", tiny_setup / "kit", "--split", "train",
                                  "--parts", 2, "--windows", 2, "--json", out, "--quiet"]]) == 0
    result = json.loads(out.read_text())
    assert result["windows_s"] == [2.0] and "windows 2 s" in capsys.readouterr().out
    from retrieval.moments import build_sequences, sequence_windows
    seqs = build_sequences(tiny_setup / "kit", "train", 2, None, 0)
    assert result["runs"][str(lex)]["windows"] == len(sequence_windows(seqs, 10 ** 6, (2.0,)))
    assert all(abs((b - a) - 2.0) < 1e-6 or b - a < 2.0 for _, a, b in sequence_windows(seqs, 10 ** 6, (2.0,)))

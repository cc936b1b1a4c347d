"""`lexmotion tag`: thresholds calibrated into a new checkpoint (the given one untouched), motions tagged
with the words over them, bad files skipped and listed, an uncalibrated checkpoint one line."""
import json

import numpy as np
import pytest
from conftest import tiny_lexical_with_words
from test_hardening import fails
from test_no_data_loss import snapshot

from lexmotion.app.cli import main
from lexmotion.data.dataset import MotionDataset, build_dataset
from lexmotion.models.thresholds import best_threshold


def test_the_summary_says_where_thresholds_came_from_when_most_motions_get_no_word():
    from retrieval.tagging import summary
    thresholds = {"global": 1.0, "per_word": {}, "data": ["data/kitml"]}
    bare = summary([{"words": []}, {"words": []}, {"words": [("walk", 2.0)]}], thresholds)
    assert bare.startswith("3 motion(s) tagged, 2 with no word") and "calibrated on data/kitml" in bare
    assert "calibrate" not in summary([{"words": []}, {"words": [("walk", 2.0)]}], thresholds)


def test_the_best_f1_threshold():
    t, f1 = best_threshold(np.array([0.9, 0.8, 0.1, 0.05]), np.array([True, True, False, False]))
    assert 0.1 < t < 0.8 and f1 == 1.0
    t, _ = best_threshold(np.array([0.9, 0.8, 0.7]), np.array([False, True, False]))
    assert 0.7 < t < 0.8                                       # tags the positive and the one above it
    assert best_threshold(np.zeros(3), np.array([True, False, False]))[0] == float("inf")    # nothing to tag


@pytest.fixture(scope="module")
def tagged(tiny_setup, sample_root, tmp_path_factory):
    root = tmp_path_factory.mktemp("tag")
    tiny_lexical_with_words(tiny_setup, root / "lex")
    build_dataset("kitml-cmu", sample_root, root / "sample", progress=False)     # 100 clips, all train
    return root


def test_calibrate_then_tag_a_dataset_and_files(capsys, tagged, tmp_path):
    before = snapshot(tagged / "lex")
    assert main([str(a) for a in ["tag", "--calibrate", "--model", tagged / "lex", "--data", tagged / "sample",
                                  "--out", tmp_path / "tagger", "--quiet"]]) == 0
    assert snapshot(tagged / "lex") == before                                 # the given checkpoint untouched
    thresholds = json.loads((tmp_path / "tagger" / "thresholds.json").read_text())
    assert thresholds["clips"] == 10 and np.isfinite(thresholds["global"])       # no val split: 10% of train
    capsys.readouterr()
    assert main([str(a) for a in ["tag", "--model", tmp_path / "tagger", "--data", tagged / "sample", "--split", "all",
                                  "--json", tmp_path / "t.json", "--quiet"]]) == 0
    tags = json.loads((tmp_path / "t.json").read_text())["tags"]
    assert len(tags) == 100 and all(not w.startswith("##") for t in tags for w, _ in t["words"])
    from lexmotion.data import SAMPLE_DIR
    (tmp_path / "files").mkdir()
    np.save(tmp_path / "files" / "good.npy", np.load(next((SAMPLE_DIR / "joints").glob("*.npy"))))
    (tmp_path / "files" / "bad.bvh").write_text("not a bvh")
    capsys.readouterr()
    assert main([str(a) for a in ["tag", "--model", tmp_path / "tagger", tmp_path / "files", "--fps", 24,
                                  "--json", tmp_path / "f.json", "--quiet"]]) == 0
    result = json.loads((tmp_path / "f.json").read_text())
    assert [t["file"].endswith("good.npy") for t in result["tags"]] == [True]
    assert result["skipped"][0]["file"].endswith("bad.bvh") and "HIERARCHY" in result["skipped"][0]["reason"]
    fails(capsys, ["tag", "--model", tmp_path / "tagger", tmp_path / "files" / "bad.bvh", "--quiet"],
          "nothing was tagged")
    # files may follow the options as well as come before them
    assert main([str(a) for a in ["tag", "--model", tmp_path / "tagger", tmp_path / "files" / "bad.bvh", "--fps", 24,
                                  tmp_path / "files" / "good.npy", "--json", tmp_path / "g.json", "--quiet"]]) == 0
    result = json.loads((tmp_path / "g.json").read_text())
    assert len(result["tags"]) == 1 and len(result["skipped"]) == 1
    fails(capsys, ["tag", "--model", tmp_path / "tagger", tmp_path / "files", "--no-such-option"],
          "unrecognized arguments: --no-such-option")


def test_an_uncalibrated_checkpoint_and_too_few_clips_are_one_line(capsys, tagged, tiny_setup, tmp_path):
    fails(capsys, ["tag", "--model", tagged / "lex", "--data", tagged / "sample"], "tag --calibrate --model")
    fails(capsys, ["tag", "--calibrate", "--model", tagged / "lex", "--data", tiny_setup / "kit", "--out",
                   tmp_path / "x", "--quiet"], "calibration needs at least 6")
    fails(capsys, ["tag", "--model", tagged / "lex"], "--data DIR or motion files")


def test_an_index_of_a_calibrated_checkpoint_filters_and_explains_with_its_words(capsys, tagged, tmp_path):
    from lexmotion.models.checkpoint import load
    from lexmotion.models.thresholds import read_thresholds
    from lexmotion.models.vocabulary import vocabulary_word
    from retrieval.index import Index
    assert main([str(a) for a in ["tag", "--calibrate", "--model", tagged / "lex", "--data", tagged / "sample",
                                  "--out", tmp_path / "tagger", "--quiet"]]) == 0
    for model, idx in ((tagged / "lex", tmp_path / "plain"), (tmp_path / "tagger", tmp_path / "calibrated")):
        assert main([str(a) for a in ["index", "build", "--model", model, "--data", tagged / "sample", "--split", "all",
                                      "--out", idx, "--backend", "sparse"]]) == 0
    index = Index.load(tmp_path / "calibrated")
    limits = index.word_limits()
    assert Index.load(tmp_path / "plain").word_limits() is None and limits is not None
    assert all(limits[w] == max(v, 0) for w, v in read_thresholds(tmp_path / "tagger")["per_word"].items())
    tokenizer = load(tmp_path / "tagger").tokenizer
    walks = vocabulary_word(tokenizer, "walks")[1]
    shown = int((index.raw_vectors.tocsc()[:, walks].toarray().ravel() > limits[walks]).sum())
    capsys.readouterr()
    assert main(["search", "--index", str(tmp_path / "calibrated"), "a person walks +walks", "-k", "100", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["constraints"][0]["removed"] == 100 - shown
    for hit in out["hits"]:                          # the words that explain a hit are words it shows
        assert all(t["item_weight"] > limits[tokenizer.convert_tokens_to_ids(t["term"])] for t in hit["terms"])
        assert not any(t["term"].startswith("##") for t in hit["terms"])   # a word's tail piece is not a word
    assert main(["search", "--index", str(tmp_path / "plain"), "a person walks +walks", "-k", "3"]) == 0
    assert "no calibrated thresholds" in capsys.readouterr().out
    tagger = load(tmp_path / "tagger")
    # a motion searching captions: its words are the ones read against the thresholds, not the captions'
    assert main([str(a) for a in ["index", "build", "--model", tmp_path / "tagger", "--data", tagged / "sample",
                                  "--split", "all", "--texts", "--out", tmp_path / "captions", "--quiet"]]) == 0
    captions = Index.load(tmp_path / "captions")
    motion = tagger.encode_motion([MotionDataset(tagged / "sample").row(0)])[0]
    query = (motion.to_dense() if motion.is_sparse else motion).numpy()
    for hit in captions.search_motion(tagger, motion, k=10):
        assert all(q > limits[tokenizer.convert_tokens_to_ids(t)] for t, q, _ in hit.terms)
        assert all(query[tokenizer.convert_tokens_to_ids(t)] == pytest.approx(m) and m <= limit for t, m, limit in hit.near)
    index._limits = np.full_like(limits, 1e3)       # no word over its threshold: the hit says so, never a blank
    for hit in index.search(tagger, "a person walks", k=3):
        assert not hit.terms and hit.near and all(m < limit for _, m, limit in hit.near)
        assert hit.because().startswith("no shared word is over its threshold") and "near_terms" in hit.to_dict()


def test_lexcmlp_ends_with_calibrated_thresholds(capsys, tagged, tiny_setup, tmp_path):
    from conftest import pretrain_tiny
    assert pretrain_tiny(tiny_setup, "lexcmlp", tmp_path / "small") == 0          # 3 calibration clips: said, not fatal
    assert "no calibrated thresholds" in capsys.readouterr().out
    assert not (tmp_path / "small" / "thresholds.json").exists() and (tmp_path / "small" / "DONE").is_file()
    assert pretrain_tiny(tiny_setup, "lexcmlp", tmp_path / "run", 2, "--data", tagged / "sample") == 0
    thresholds = json.loads((tmp_path / "run" / "thresholds.json").read_text())
    assert thresholds["clips"] == 2 + 1 + 10 and len(thresholds["data"]) == 2     # val + 10% of train, both datasets


def test_eval_words_reports_the_calibrated_words(capsys, tagged, tmp_path):
    assert main([str(a) for a in ["tag", "--calibrate", "--model", tagged / "lex", "--data", tagged / "sample",
                                  "--out", tmp_path / "tagger", "--quiet"]]) == 0
    capsys.readouterr()
    assert main([str(a) for a in ["eval", "words", "--model", tmp_path / "tagger", tagged / "lex", "--data",
                                  tagged / "sample", "--split", "train", "--json", tmp_path / "w.json", "--quiet"]]) == 0
    out = capsys.readouterr().out
    assert "at its calibrated thresholds" in out and "no calibrated thresholds" in out
    runs = json.loads((tmp_path / "w.json").read_text())["runs"]
    calibrated = runs[0]["calibrated"]
    assert "calibrated" not in runs[1] and 0 <= calibrated["held"] <= runs[0]["mean"]["held"]
    per_word = [w["calibrated"]["held"] for w in runs[0]["words"].values()]       # what the mean is of
    assert per_word and calibrated["held"] == pytest.approx(np.mean(per_word), abs=1e-4)
    assert all("calibrated" not in w for w in runs[1]["words"].values())


def test_a_word_group_holds_every_inflection_the_vocabulary_has():
    from lexmotion.models.text import load_text_backbone
    from lexmotion.models.thresholds import word_groups
    tokenizer = load_text_backbone()[0]
    captions = [["A person waves the left hand."], ["Someone waves."], ["A person waves both hands."]]
    seen = word_groups(tokenizer, captions, 3)
    every = word_groups(tokenizer, captions, 3, every_inflection=True)
    assert tokenizer.convert_ids_to_tokens(seen["wave"]["ids"]) == ["waves"]
    assert {"wave", "waves", "waving", "waved"} <= set(tokenizer.convert_ids_to_tokens(every["wave"]["ids"]))
    assert (every["wave"]["positives"] == seen["wave"]["positives"]).all()     # the clips are the captions' own


def test_a_tag_names_a_word_once_by_its_strongest_inflection():
    from types import SimpleNamespace

    from lexmotion.models.text import load_text_backbone
    from retrieval.tagging import tag_vectors
    tokenizer = load_text_backbone()[0]
    vector = np.zeros((1, len(tokenizer)), dtype=np.float32)
    for word, weight in (("starts", 1.5), ("start", 2.0), ("starting", 1.2), ("jump", 1.8), ("##ing", 3.0)):
        vector[0, tokenizer.convert_tokens_to_ids(word)] = weight
    tags = tag_vectors(SimpleNamespace(tokenizer=tokenizer), vector, {"per_word": {}, "global": 1.0})
    assert tags == [[("start", 2.0), ("jump", 1.8)]]

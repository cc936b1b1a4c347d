"""`lexmotion tag`: thresholds calibrated into a new checkpoint (the given one untouched), motions tagged
with the words over them, bad files skipped and listed, an uncalibrated checkpoint one line."""
import json

import numpy as np
import pytest
from conftest import tiny_lexical_with_words
from test_hardening import fails
from test_no_data_loss import snapshot

from lexmotion.app.cli import main
from lexmotion.data.dataset import build_dataset
from retrieval.tagging import best_threshold


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


def test_an_uncalibrated_checkpoint_and_too_few_clips_are_one_line(capsys, tagged, tiny_setup, tmp_path):
    fails(capsys, ["tag", "--model", tagged / "lex", "--data", tagged / "sample"], "tag --calibrate --model")
    fails(capsys, ["tag", "--calibrate", "--model", tagged / "lex", "--data", tiny_setup / "kit", "--out",
                   tmp_path / "x", "--quiet"], "calibration needs at least 6")
    fails(capsys, ["tag", "--model", tagged / "lex"], "--data DIR or motion files")

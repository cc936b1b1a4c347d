"""Whole-take encoding (the model config's ``long_motion`` "windows"): a served motion longer than the
encoder's window is covered by windows of that length overlapping by half and pooled as its patches are
(lexical: each word's largest weight; dense: the mean), instead of being judged by its centred crop."""
import json

import numpy as np
import pytest
import torch

from lexmotion.data.batching import MotionTextDataset
from lexmotion.data.dataset import MotionDataset
from lexmotion.errors import LexmotionError
from lexmotion.models.checkpoint import load


@pytest.fixture(scope="module")
def models(served_models):
    return served_models


def _features(setup, model):
    rows = MotionTextDataset(MotionDataset(setup / "kit"), None, model.stats, None).rows
    feats = [r["features"] for r in rows]
    width = model.config.motion.max_frames
    long = [f for f in feats if len(f) > 2 * width]
    short = [f for f in feats if len(f) <= width] or [feats[0][:width // 2]]
    assert long, "the kitml slice needs a clip over twice the tiny encoder's window"
    return long[0], short[0]


def _windows(model, f):
    width = model.config.motion.max_frames
    return [torch.from_numpy(np.ascontiguousarray(f[s:s + width]))[None] for s in model.window_starts(len(f))]


def _dense(v):
    return (v.to_dense() if v.is_sparse else v).numpy()


def test_window_starts_cover_the_clip_by_halves(models):
    model = load(models / "lex")
    width, step = model.config.motion.max_frames, model.window_step()
    assert step == width // 2 and step % model.config.motion.patch_frames == 0
    for frames in (1, width, width + 1, 3 * width + 7):
        starts = list(model.window_starts(frames))
        assert starts[0] == 0 and starts[-1] + width >= frames and starts[-1] < max(frames - width, 0) + step


def test_lexical_long_clip_is_the_max_over_its_windows(tiny_setup, models):
    model = load(models / "lex")
    model.config.motion_max_words = 0
    long, short = _features(tiny_setup, model)
    centred = _dense(model.encode_motion([long, short]))
    model.config.long_motion = "windows"
    vectors = _dense(model.encode_motion([long, short]))
    with torch.no_grad():
        windows = [model.motion_lexical(w, torch.ones(w.shape[:2], dtype=torch.bool), prune=False)[0]
                   for w in _windows(model, long)]
    assert len(windows) >= 3
    np.testing.assert_allclose(vectors[0], torch.stack(windows).max(0).values.numpy(), atol=1e-5)
    np.testing.assert_allclose(vectors[1], centred[1], atol=1e-5)        # within the window: as before
    assert np.abs(vectors[0] - centred[0]).max() > 1e-3                  # the crop dropped something
    np.testing.assert_allclose(_dense(model.encode_motion([long])), vectors[:1], atol=1e-5)   # batch-independent


def test_lexical_long_clip_keeps_the_served_word_cap(tiny_setup, models):
    model = load(models / "lex")
    model.config.motion_max_words, model.config.long_motion = 5, "windows"
    vectors = _dense(model.encode_motion(list(_features(tiny_setup, model))))
    assert ((vectors > 0).sum(1) <= 5).all() and (vectors > 0).any()


def test_dense_long_clip_is_the_mean_over_its_windows(tiny_setup, models):
    model = load(models / "dense")
    model.config.long_motion = "windows"
    long, short = _features(tiny_setup, model)
    vectors = _dense(model.encode_motion([long, short]))
    with torch.no_grad():
        windows = [model.motion_dense(w, torch.ones(w.shape[:2], dtype=torch.bool))[0] for w in _windows(model, long)]
    np.testing.assert_allclose(vectors[0], torch.stack(windows).mean(0).numpy(), atol=1e-5)


def test_long_motion_in_the_checkpoint_config(models, tmp_path):
    import shutil
    copy = tmp_path / "lex"
    shutil.copytree(models / "lex", copy)
    config = json.loads((copy / "config.json").read_text())
    assert load(copy).config.long_motion == "centre"                     # checkpoints without the key
    config["model"]["long_motion"] = "windows"
    (copy / "config.json").write_text(json.dumps(config))
    assert load(copy).config.long_motion == "windows"
    config["model"]["long_motion"] = "middle"
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(LexmotionError, match="long_motion is 'middle'"):
        load(copy)


def test_eval_retrieval_long_motion_option(tiny_setup, models, tmp_path):
    from lexmotion.app.cli import main
    for choice in ("windows", "centre"):
        out = tmp_path / f"{choice}.json"
        assert main(["eval", "retrieval", "--model", str(models / "lex"), "--data", str(tiny_setup / "kit"),
                     "--split", "train", "--long-motion", choice, "--json", str(out)]) == 0
        assert json.loads(out.read_text())["details"]["long_motion"] == choice
    assert main(["eval", "retrieval", "--model", str(models / "lex"), "--data", str(tiny_setup / "kit"),
                 "--long-motion", "all"]) == 2


def test_eval_words_and_moments_take_the_served_motion_options(tiny_setup, models, tmp_path):
    from lexmotion.app.cli import main
    lex, data = str(models / "lex"), str(tiny_setup / "kit")
    out = tmp_path / "words.json"
    assert main(["eval", "words", "--model", lex, "--data", data, "--split", "train", "--min-positives", "1",
                 "--long-motion", "windows", "--quiet", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["runs"][0]["long_motion"] == "windows"
    out = tmp_path / "moments.json"
    assert main(["eval", "moments", "--model", lex, "--data", data, "--split", "train", "--parts", "2",
                 "--mirror-average", "--quiet", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["serving"] == {"mirror_average": True}

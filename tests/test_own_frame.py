"""A window or a crop of a longer motion read as a clip of its own: ``crop_frame`` gives the features of the
frames taken alone; the model reads windows by its ``window_frame`` everywhere it cuts them; a phase with
``crop_frame`` own trains on crops read so, records it in its statistics, and serves its crops and windows so;
a bad setting is one line."""
import json
import shutil

import numpy as np
import pytest
import torch
from conftest import pretrain_tiny
from test_hardening import fails

from lexmotion.data.batching import MotionTextDataset, as_own_clip, normalise
from lexmotion.data.dataset import MotionDataset
from lexmotion.data.features import (
    FEATURE_LAYOUT,
    crop_frame,
    crops_of,
    feature_stats,
    part_features,
    with_crops,
)
from lexmotion.errors import LexmotionError


def test_a_slice_reads_as_its_frames_given_alone(longest_clip):
    joints, skeleton = longest_clip
    k = len(joints) // 3
    whole, alone = part_features(joints, 20.0, skeleton), part_features(joints[k:], 20.0, skeleton)
    assert np.abs(whole[k + 1:] - alone[1:]).max() > 0.05               # the take's frame differs...
    # ...its own frame does not, but for the first frame's velocities (a slice keeps them as measured)
    np.testing.assert_allclose(crop_frame(whole[k:])[1:], alone[1:], atol=1e-4)
    np.testing.assert_allclose(crop_frame(whole[k:])[0, :FEATURE_LAYOUT["root"][0] + 3], alone[0, :3], atol=1e-4)
    np.testing.assert_allclose(crop_frame(whole), whole, atol=1e-5)     # a clip's own start: nothing to turn
    assert crop_frame(whole[:0]).shape == (0, whole.shape[1])


def test_own_clip_on_normalised_features_and_in_the_body_frame(longest_clip):
    joints, skeleton = longest_clip
    whole = part_features(joints, 20.0, skeleton)
    k = len(whole) // 2
    first, body = feature_stats([whole]), feature_stats([whole], "body")
    np.testing.assert_allclose(as_own_clip(normalise(whole, first)[k:], first), normalise(crop_frame(whole[k:]), first),
                               atol=1e-4)
    # the body frame does not depend on where a slice starts: nothing to do
    sliced = normalise(whole, body)[k:]
    assert as_own_clip(sliced, body) is sliced


def test_the_model_reads_windows_by_its_setting(served_models, longest_clip):
    import lexmotion
    joints, skeleton = longest_clip
    model = lexmotion.load(served_models / "lex")
    assert model.config.window_frame == "clip"                # the default, until a rule adopts "own"
    feats = normalise(part_features(joints, 20.0, skeleton), model.stats)
    k = len(feats) // 3
    np.testing.assert_array_equal(model.read_window(feats[k:]), feats[k:])
    model.override_serving(window_frame="own")
    alone = model._clip_features({"joints": joints[k:], "fps": 20.0, "skeleton": skeleton})
    np.testing.assert_allclose(model.read_window(feats[k:])[1:], alone[1:], atol=1e-3)
    # a padded batch of windows: each row read alone, the padding kept at 0
    batch = torch.zeros(2, 12, feats.shape[1])
    batch[0], batch[1, :7] = torch.from_numpy(feats[k:k + 12]), torch.from_numpy(feats[k + 3:k + 10])
    mask = torch.arange(12)[None] < torch.tensor([[12], [7]])
    out = model.window_batch(batch, mask)
    np.testing.assert_allclose(out[0].numpy(), model.read_window(feats[k:k + 12]), atol=1e-5)
    np.testing.assert_allclose(out[1, :7].numpy(), model.read_window(feats[k + 3:k + 10]), atol=1e-5)
    assert not out[1, 7:].any()


def test_a_windowed_index_reads_its_windows_in_the_checkpoints_frame(served_models, tiny_setup, tmp_path):
    from retrieval.collection import encode_collection
    ckpt = tmp_path / "own"
    shutil.copytree(served_models / "lex", ckpt)
    import lexmotion
    clip_model = lexmotion.load(ckpt)
    config = json.loads((ckpt / "config.json").read_text())
    config["model"]["window_frame"] = "own"
    (ckpt / "config.json").write_text(json.dumps(config))
    own_model = lexmotion.load(ckpt)
    assert own_model.config.window_frame == "own"
    items, by_clip = encode_collection(clip_model, tiny_setup / "kit", "all", progress=False, window=1.0)
    _, by_own = encode_collection(own_model, tiny_setup / "kit", "all", progress=False, window=1.0)
    first = np.array([it["start"] == 0 for it in items])
    assert first.any() and (~first).any()
    diff = np.abs((by_clip - by_own).toarray()).max(axis=1)
    assert diff[first].max() < 1e-4 and diff[~first].max() > 1e-3       # only windows after a clip's start move


def test_a_bad_window_frame_is_one_line(served_models, tmp_path, capsys, tiny_setup):
    import lexmotion
    ckpt = tmp_path / "bad"
    shutil.copytree(served_models / "lex", ckpt)
    config = json.loads((ckpt / "config.json").read_text())
    config["model"]["window_frame"] = "sideways"
    (ckpt / "config.json").write_text(json.dumps(config))
    with pytest.raises(LexmotionError, match="window_frame is 'sideways'; it must be one of own, clip"):
        lexmotion.load(ckpt)
    fails(capsys, ["eval", "moments", "--model", served_models / "lex", "--data", tiny_setup / "kit",
                   "--window-frame", "sideways"], "invalid choice")


def test_statistics_say_how_crops_are_read(longest_clip):
    joints, skeleton = longest_clip
    stats = feature_stats([part_features(joints, 20.0, skeleton)])
    assert crops_of(stats) == "clip" and "crops" not in stats          # older statistics read as before
    own = with_crops(stats, "own")
    assert crops_of(own) == "own" and "crops" not in stats and with_crops(own, "clip") == stats
    with pytest.raises(LexmotionError, match="a crop is read in one of clip, own, not 'sideways'"):
        with_crops(stats, "sideways")


def test_a_dataset_reads_its_crops_as_its_statistics_say(tiny_setup):
    data = MotionDataset(tiny_setup / "kit")
    stats = with_crops(data.stats, "own")
    mean, std = np.asarray(stats["mean"]), np.asarray(stats["std"])
    root = FEATURE_LAYOUT["root"][0]
    for train in (False, True):
        items = MotionTextDataset(data, None, stats, 40, train=train)
        long = next(i for i, r in enumerate(items.rows) if len(r["features"]) > 40)
        for _ in range(3 if train else 1):
            raw = items[long]["motion"].numpy() * std + mean
            # each crop starts above the origin, facing +z, whatever the clip did before it
            np.testing.assert_allclose(raw[0, [root + 0, root + 2, root + 3, root + 4]], [0, 0, 1, 0], atol=1e-4)
        if not train:
            whole = items.rows[long]["features"]
            start = (len(whole) - 40) // 2
            np.testing.assert_allclose(items[long]["motion"].numpy(), as_own_clip(whole[start:start + 40], stats),
                                       atol=1e-6)
    plain = MotionTextDataset(data, None, data.stats, 40)
    whole = plain.rows[long]["features"]
    start = (len(whole) - 40) // 2
    np.testing.assert_array_equal(plain[long]["motion"].numpy(), whole[start:start + 40])


def test_a_stage_that_reads_crops_alone_serves_them_so(tiny_setup, tmp_path, longest_clip):
    import lexmotion
    from lexmotion.app.cli import main
    assert pretrain_tiny(tiny_setup, "lexmmm", tmp_path / "lexmmm") == 0
    recipe = json.loads((tiny_setup / "tiny.json").read_text())
    recipe.setdefault("phases", {})["lexcmlp"] = {"crop_frame": "own"}
    (tmp_path / "own.json").write_text(json.dumps(recipe))
    run = ["pretrain", "lexcmlp", "--data", tiny_setup / "kit", "--batch-size", 4, "--max-steps", 2, "--wandb",
           "disabled", "--quiet"]
    assert main([str(a) for a in [*run, "--config", tmp_path / "own.json", "--init", tmp_path / "lexmmm",
                                  "--out", tmp_path / "lexcmlp"]]) == 0
    stats = json.loads((tmp_path / "lexcmlp" / "stats.json").read_text())
    before = json.loads((tmp_path / "lexmmm" / "stats.json").read_text())
    assert crops_of(before) == "clip" and stats == with_crops(before, "own")     # the same normalisation
    model = lexmotion.load(tmp_path / "lexcmlp")
    assert model.config.window_frame == "own"                   # its windows are read as its crops are
    joints, skeleton = longest_clip
    width = model.config.motion.max_frames
    assert len(joints) > width
    feats = normalise(part_features(joints, 20.0, skeleton), model.stats)
    start = (len(feats) - width) // 2
    served, _ = model.served_batch([{"joints": joints, "fps": 20.0, "skeleton": skeleton}])    # what encode_motion reads
    np.testing.assert_allclose(served[0].numpy(), as_own_clip(feats[start:start + width], stats), atol=1e-5)
    assert np.abs(served[0].numpy() - feats[start:start + width]).max() > 0.1
    # a later stage without crop_frame keeps the checkpoint's reading
    assert main([str(a) for a in [*run, "--config", tiny_setup / "tiny.json", "--init", tmp_path / "lexcmlp",
                                  "--out", tmp_path / "again"]]) == 0
    assert json.loads((tmp_path / "again" / "stats.json").read_text()) == stats


@pytest.mark.parametrize("value", ["sideways", 1, True])
def test_a_bad_crop_frame_is_one_line(value):
    from pretrain.settings import resolve
    with pytest.raises(LexmotionError, match="crop_frame is one of clip, own"):
        resolve("lexcmlp", {"phases": {"lexcmlp": {"crop_frame": value}}, "source": "mine.json"})


def test_a_checkpoint_that_reads_crops_in_an_unknown_frame_is_one_line(served_models, tmp_path):
    import lexmotion
    ckpt = tmp_path / "later"
    shutil.copytree(served_models / "lex", ckpt)
    stats = json.loads((ckpt / "stats.json").read_text())
    (ckpt / "stats.json").write_text(json.dumps({**stats, "crops": "sideways"}))
    with pytest.raises(LexmotionError, match="reads crops in frame 'sideways'; this version knows clip, own"):
        lexmotion.load(ckpt)

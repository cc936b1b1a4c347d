"""Motions read in the body's own frame (``motion_frame`` "body"): the features of a crop are the crop of the
clip's features, mirroring commutes with the frame, the statistics name the frame and travel with the
checkpoint, and everything that encodes a clip reads it in the checkpoint's frame."""
import json

import numpy as np
import pytest
from conftest import pretrain_tiny

from lexmotion.data.batching import MotionTextDataset, normalise
from lexmotion.data.dataset import MotionDataset
from lexmotion.data.features import (
    FEATURE_LAYOUT,
    body_frame,
    feature_stats,
    frame_of,
    mirror_features,
    mirror_joints,
    part_features,
)
from lexmotion.errors import LexmotionError


def test_a_crop_reads_as_the_clip_did_there(longest_clip):
    joints, skeleton = longest_clip
    k = len(joints) // 3
    whole, crop = part_features(joints, 20.0, skeleton), part_features(joints[k:], 20.0, skeleton)
    # in the first frame's frame a crop that starts elsewhere reads differently...
    assert np.abs(whole[k + 1:] - crop[1:]).max() > 0.05
    # ...in the body's frame it reads the same (the first velocity of a crop is its second's)
    np.testing.assert_allclose(body_frame(whole)[k + 1:], body_frame(crop)[1:], atol=1e-5)


def test_the_body_frame_keeps_height_and_turn_rate_and_drops_where_and_which_way(longest_clip):
    joints, skeleton = longest_clip
    first = part_features(joints, 20.0, skeleton)
    body = body_frame(first)
    root = FEATURE_LAYOUT["root"][0]
    assert not body[:, [root + 0, root + 2, root + 3, root + 4]].any()
    np.testing.assert_array_equal(body[:, [root + 1, root + 6, root + 8]], first[:, [root + 1, root + 6, root + 8]])
    # a turn changes no length: each joint's distance from the pelvis is the same in both frames
    rel = FEATURE_LAYOUT["torso"][0]
    np.testing.assert_allclose(np.linalg.norm(body[:, rel:rel + 3], axis=1),
                               np.linalg.norm(first[:, rel:rel + 3], axis=1), rtol=1e-5, atol=1e-6)


def test_mirroring_commutes_with_the_body_frame(longest_clip):
    joints, skeleton = longest_clip
    first = part_features(joints, 20.0, skeleton)
    np.testing.assert_allclose(body_frame(mirror_features(first)), mirror_features(body_frame(first)), atol=1e-6)
    np.testing.assert_allclose(body_frame(part_features(mirror_joints(joints, skeleton), 20.0, skeleton)),
                               mirror_features(body_frame(first)), atol=1e-5)


def test_statistics_name_their_frame_and_normalise_reads_it(longest_clip):
    joints, skeleton = longest_clip
    first = part_features(joints, 20.0, skeleton)
    plain, body = feature_stats([first]), feature_stats([first], "body")
    assert "frame" not in plain and frame_of(plain) == "first"          # old statistics read as before
    assert frame_of(body) == "body"
    standard = normalise(first, body)
    assert np.abs(standard.mean(0)).max() < 1e-4                       # standardised in the body's frame
    np.testing.assert_allclose(normalise(first, plain) * np.asarray(plain["std"]) + np.asarray(plain["mean"]),
                               first, atol=1e-4)
    with pytest.raises(LexmotionError, match="a motion frame is one of first, body"):
        feature_stats([first], "world")


@pytest.mark.parametrize("value", ["world", 1, True])
def test_a_bad_motion_frame_is_one_line(value):
    from pretrain.settings import resolve
    with pytest.raises(LexmotionError, match="motion_frame is one of first, body"):
        resolve("lexcmlp", {"phases": {"lexcmlp": {"motion_frame": value}}, "source": "mine.json"})


def test_a_stage_changes_frame_and_its_checkpoint_serves_in_it(tiny_setup, tmp_path):
    """A first-frame LexMMM, then a LexCMLP stage in the body frame from it: the stage's statistics are
    the run's motions read in the body frame, and encoding a clip by its joints reads it so."""
    import lexmotion
    assert pretrain_tiny(tiny_setup, "lexmmm", tmp_path / "lexmmm") == 0
    recipe = json.loads((tiny_setup / "tiny.json").read_text())
    recipe.setdefault("phases", {})["lexcmlp"] = {"motion_frame": "body"}
    (tmp_path / "body.json").write_text(json.dumps(recipe))
    from lexmotion.app.cli import main
    assert main([str(a) for a in ["pretrain", "lexcmlp", "--data", tiny_setup / "kit", "--config", tmp_path / "body.json",
                                  "--init", tmp_path / "lexmmm", "--out", tmp_path / "lexcmlp", "--batch-size", 4,
                                  "--max-steps", 2, "--wandb", "disabled", "--quiet"]]) == 0
    before = json.loads((tmp_path / "lexmmm" / "stats.json").read_text())
    stats = json.loads((tmp_path / "lexcmlp" / "stats.json").read_text())
    assert frame_of(before) == "first" and frame_of(stats) == "body"
    data = MotionDataset(tiny_setup / "kit")
    expected = feature_stats([part_features(np.asarray(data.row(i)["joints"]), float(data.row(i)["fps"]),
                                            data.skeleton(data.row(i)["skeleton"]))
                              for i in data.split_indices("train")], "body")
    np.testing.assert_allclose(stats["mean"], expected["mean"], rtol=1e-6, atol=1e-6)
    model = lexmotion.load(tmp_path / "lexcmlp")
    row = data.row(data.split_indices("test")[0])
    by_joints = model.encode_motion([{"joints": row["joints"], "fps": row["fps"], "skeleton": data.skeleton(row["skeleton"])}])
    items = MotionTextDataset(data, "test", model.stats, model.config.motion.max_frames)
    by_features = model.encode_motion([items.rows[0]["features"]])
    np.testing.assert_allclose(by_joints.to_dense().numpy(), by_features.to_dense().numpy(), atol=1e-5)
    np.testing.assert_allclose(items.rows[0]["features"], normalise(
        part_features(row["joints"], float(row["fps"]), data.skeleton(row["skeleton"])), stats), atol=1e-5)
    # a later stage without motion_frame keeps the checkpoint's frame
    assert main([str(a) for a in ["pretrain", "lexcmlp", "--data", tiny_setup / "kit", "--config", tiny_setup / "tiny.json",
                                  "--init", tmp_path / "lexcmlp", "--out", tmp_path / "again", "--batch-size", 4,
                                  "--max-steps", 2, "--wandb", "disabled", "--quiet"]]) == 0
    assert json.loads((tmp_path / "again" / "stats.json").read_text()) == stats


def test_a_checkpoint_in_an_unknown_frame_is_one_line(tiny_setup, tmp_path):
    import shutil

    import lexmotion
    assert pretrain_tiny(tiny_setup, "lexmmm", tmp_path / "lexmmm") == 0
    shutil.copytree(tmp_path / "lexmmm", tmp_path / "later")
    stats = json.loads((tmp_path / "later" / "stats.json").read_text())
    (tmp_path / "later" / "stats.json").write_text(json.dumps({**stats, "frame": "world"}))
    with pytest.raises(LexmotionError, match="reads motions in frame 'world'; this version knows first, body"):
        lexmotion.load(tmp_path / "later")

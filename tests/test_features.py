import numpy as np
import pytest

from lexmotion.data.features import (
    FEATURE_DIM,
    FEATURE_LAYOUT,
    check_joints,
    face_forward,
    feature_stats,
    heading,
    mirror_features,
    mirror_joints,
    mirror_text,
    part_features,
    resample,
    to_canonical,
)
from lexmotion.data.skeletons import KITML_CMU
from lexmotion.errors import LexmotionError


@pytest.fixture(scope="module")
def clip(sample_root):
    return np.load(sample_root / "joints" / "02252.npy")   # "A person sprints.", 24 fps


def test_resample_keeps_duration_and_endpoints(clip):
    out = resample(clip, 24.0)
    assert len(out) == int((len(clip) - 1) / 24 * 20) + 1
    np.testing.assert_allclose(out[0], clip[0])
    assert resample(clip, 20.0) is clip
    up = resample(clip[:13], 12.0)      # 12 fps -> 20 fps: 1 s -> 21 frames
    assert len(up) == 21
    np.testing.assert_allclose(up[-1], clip[12], atol=1e-6)


def test_part_features_layout(clip):
    feats = part_features(clip, 24.0, KITML_CMU)
    assert feats.shape == (len(resample(clip, 24.0)), FEATURE_DIM) and feats.dtype == np.float32
    assert [FEATURE_LAYOUT[p][1] - FEATURE_LAYOUT[p][0] for p in FEATURE_LAYOUT] == [9, 24, 18, 18, 18, 18]
    root = feats[:, slice(*FEATURE_LAYOUT["root"])]
    np.testing.assert_allclose(root[0, [0, 2]], 0, atol=1e-6)          # starts at the origin
    np.testing.assert_allclose(root[0, 3:5], [1, 0], atol=1e-6)         # heading relative to frame 0
    assert root[-1, 2] > 2.0, "a sprint moves forward (+z after facing the clip forward)"


def test_face_forward_faces_plus_z(clip):
    canon = face_forward(to_canonical(clip.astype(float), KITML_CMU))
    assert abs(heading(canon[:1])[0]) < 1e-6


def test_mirror_is_an_involution_and_swaps_sides(clip):
    twice = mirror_joints(mirror_joints(clip, KITML_CMU), KITML_CMU)
    np.testing.assert_allclose(twice, clip)
    once = mirror_joints(clip, KITML_CMU)
    l, r = KITML_CMU.index("lHand"), KITML_CMU.index("rHand")
    np.testing.assert_allclose(once[:, l, 0], -clip[:, r, 0])


@pytest.mark.parametrize("fps", [24.0, 100.0])
def test_mirror_features_are_the_mirrored_clips_features(clip, fps):
    """Mirroring in feature space (what test-time mirror averaging uses) equals recomputing the features of
    the mirrored joints, heading and velocities included; and twice is the identity."""
    feats = part_features(clip, fps, KITML_CMU)
    mirrored = part_features(mirror_joints(clip, KITML_CMU), fps, KITML_CMU)
    assert np.abs(feats - mirrored).max() > 0.1                   # a sprint is not its own mirror image
    np.testing.assert_allclose(mirror_features(feats), mirrored, atol=1e-5)
    np.testing.assert_array_equal(mirror_features(mirror_features(feats)), feats)


@pytest.mark.parametrize("text,expected", [
    ("A person waves the left hand.", "A person waves the right hand."),
    ("Left then RIGHT, turning clockwise", "Right then LEFT, turning counterclockwise"),
    ("walks leftwards counter-clockwise", "walks rightwards clockwise"),
    ("a leftover bright light", "a leftover bright light"),
])
def test_mirror_text(text, expected):
    assert mirror_text(text) == expected


@pytest.mark.parametrize("bad,message", [
    (np.zeros((1, 21, 3)), "1 frame"),
    (np.zeros((0, 21, 3)), "0 frame"),
    (np.zeros((5, 21)), "shape"),
    (np.zeros((5, 20, 3)), "20 joints, but skeleton kitml-cmu has 21"),
])
def test_check_joints_refuses_bad_clips(bad, message):
    with pytest.raises(LexmotionError, match=message):
        check_joints(bad, "x.npy", KITML_CMU)


def test_check_joints_reports_nan_frames():
    clip = np.zeros((6, 21, 3))
    clip[3, 2, 1] = np.nan
    clip[5, 0, 0] = np.inf
    with pytest.raises(LexmotionError, match="x.npy: 2 frame.*NaN or infinite.*first: frame 3"):
        check_joints(clip, "x.npy", KITML_CMU)


def test_feature_stats(clip):
    stats = feature_stats([part_features(clip, 24.0, KITML_CMU)])
    assert len(stats["mean"]) == FEATURE_DIM and min(stats["std"]) > 0
    with pytest.raises(LexmotionError):
        feature_stats([])

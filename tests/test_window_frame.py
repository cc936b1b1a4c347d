"""A window of a longer motion read as a clip of its own (``window_frame`` "own"): ``crop_frame`` gives the
features of the frames taken alone, the model reads windows by its setting everywhere it cuts them, and a bad
setting is one line."""
import json
import shutil

import numpy as np
import pytest
import torch
from test_hardening import fails

from lexmotion.data.batching import as_own_clip, normalise
from lexmotion.data.dataset import MotionDataset
from lexmotion.data.features import FEATURE_LAYOUT, crop_frame, feature_stats, part_features, resample
from lexmotion.errors import LexmotionError


@pytest.fixture(scope="module")
def clip(tiny_setup):
    """The longest clip of the kitml slice at 20 fps, and its skeleton."""
    data = MotionDataset(tiny_setup / "kit")
    row = max((data.row(i) for i in data.split_indices(None)), key=lambda r: r["num_frames"] / r["fps"])
    return resample(np.asarray(row["joints"], dtype=np.float64), float(row["fps"])), data.skeleton(row["skeleton"])


def test_a_slice_reads_as_its_frames_given_alone(clip):
    joints, skeleton = clip
    k = len(joints) // 3
    whole, alone = part_features(joints, 20.0, skeleton), part_features(joints[k:], 20.0, skeleton)
    assert np.abs(whole[k + 1:] - alone[1:]).max() > 0.05               # the take's frame differs...
    # ...its own frame does not, but for the first frame's velocities (a slice keeps them as measured)
    np.testing.assert_allclose(crop_frame(whole[k:])[1:], alone[1:], atol=1e-4)
    np.testing.assert_allclose(crop_frame(whole[k:])[0, :FEATURE_LAYOUT["root"][0] + 3], alone[0, :3], atol=1e-4)
    np.testing.assert_allclose(crop_frame(whole), whole, atol=1e-5)     # a clip's own start: nothing to turn
    assert crop_frame(whole[:0]).shape == (0, whole.shape[1])


def test_own_clip_on_normalised_features_and_in_the_body_frame(clip):
    joints, skeleton = clip
    whole = part_features(joints, 20.0, skeleton)
    k = len(whole) // 2
    first, body = feature_stats([whole]), feature_stats([whole], "body")
    np.testing.assert_allclose(as_own_clip(normalise(whole, first)[k:], first), normalise(crop_frame(whole[k:]), first),
                               atol=1e-4)
    # the body frame does not depend on where a slice starts: nothing to do
    sliced = normalise(whole, body)[k:]
    assert as_own_clip(sliced, body) is sliced


def test_the_model_reads_windows_by_its_setting(served_models, clip):
    import lexmotion
    joints, skeleton = clip
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

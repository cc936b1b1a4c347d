"""Training clips replayed at other speeds (``speeds``): each rate's features are the replayed clip's own,
evaluation and the default read clips as captured, and a bad list is one line."""
import json

import numpy as np
import pytest
import torch
from conftest import pretrain_tiny

from lexmotion.data.batching import MotionTextDataset, normalise
from lexmotion.data.dataset import MotionDataset, build_dataset
from lexmotion.data.features import mirror_joints, part_features
from lexmotion.errors import LexmotionError


@pytest.fixture(scope="module")
def small(kitml_slice, tmp_path_factory):
    out = tmp_path_factory.mktemp("ds") / "kit"
    build_dataset("kitml-cmu", kitml_slice, out, progress=False)
    return MotionDataset(out)


def _expected(small, ds, rate, mirrored=False):
    row = small.row(ds.rows[0]["index"])
    skeleton = small.skeleton(row["skeleton"])
    joints = mirror_joints(row["joints"], skeleton) if mirrored else row["joints"]
    return normalise(part_features(joints, float(row["fps"]) * rate, skeleton), small.stats)


@pytest.mark.parametrize("mirror", [0.0, 1.0])
def test_a_faster_clip_is_the_replayed_clip_s_own_features(small, mirror):
    ds = MotionTextDataset(small, "train", max_frames=10_000, train=True, mirror_prob=mirror, speeds=(1.25,))
    got = ds[0]["motion"].numpy()
    expected = _expected(small, ds, 1.25, mirrored=bool(mirror))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert len(got) < len(_expected(small, ds, 1.0))        # the same motion in less time


def test_every_rate_is_drawn(small):
    ds = MotionTextDataset(small, "train", max_frames=10_000, train=True, speeds=(0.8, 1.0, 1.25))
    torch.manual_seed(0)
    lengths = {len(ds[0]["motion"]) for _ in range(60)}
    assert lengths == {len(_expected(small, ds, rate)) for rate in (0.8, 1.0, 1.25)}


def test_evaluation_and_the_default_read_clips_as_captured(small):
    as_captured = MotionTextDataset(small, "train", max_frames=10_000, train=True)
    assert all("variants" not in row for row in as_captured.rows)   # the default draws no rate: its RNG is unchanged
    evaluation = MotionTextDataset(small, "test", max_frames=10_000, speeds=(0.5,))
    row = small.row(evaluation.rows[0]["index"])
    plain = normalise(part_features(row["joints"], float(row["fps"]), small.skeleton(row["skeleton"])), small.stats)
    np.testing.assert_allclose(evaluation[0]["motion"].numpy(), plain, rtol=1e-6)


@pytest.mark.parametrize("value", [[], [0.0], [1.0, -1.0], [True], 1.1, ["fast"]])
def test_a_bad_speeds_list_is_one_line(value):
    from pretrain.settings import resolve
    with pytest.raises(LexmotionError, match="speeds is a list of playback rates above 0"):
        resolve("lexcmlp", {"phases": {"lexcmlp": {"speeds": value}}, "source": "mine.json"})


def test_a_phase_trains_at_its_speeds(tiny_setup, tmp_path):
    recipe = json.loads((tiny_setup / "tiny.json").read_text())
    recipe.setdefault("phases", {})["lexmmm"] = {"speeds": [0.9, 1.0, 1.1]}
    (tmp_path / "speeds.json").write_text(json.dumps(recipe))
    from lexmotion.app.cli import main
    assert main([str(a) for a in ["pretrain", "lexmmm", "--data", tiny_setup / "kit", "--config", tmp_path / "speeds.json",
                                  "--out", tmp_path / "lexmmm", "--batch-size", 4, "--max-steps", 2,
                                  "--wandb", "disabled", "--quiet"]]) == 0
    assert json.loads((tmp_path / "lexmmm" / "config.json").read_text())["train"]["speeds"] == [0.9, 1.0, 1.1]
    assert pretrain_tiny(tiny_setup, "lexmmm", tmp_path / "plain") == 0
    assert json.loads((tmp_path / "plain" / "config.json").read_text())["train"]["speeds"] == [1.0]

import numpy as np
import pytest
import torch

from lexmotion.data.batching import Collate, MotionTextDataset, normalise
from lexmotion.data.dataset import MotionDataset, build_dataset
from lexmotion.data.features import mirror_joints, part_features


@pytest.fixture(scope="module")
def small(kitml_slice, tmp_path_factory):
    out = tmp_path_factory.mktemp("ds") / "kit"
    build_dataset("kitml-cmu", kitml_slice, out, progress=False)
    return MotionDataset(out)


def test_eval_examples_are_deterministic_and_normalised(small):
    ds = MotionTextDataset(small, "train", max_frames=60)
    a, b = ds[0], ds[0]
    assert torch.equal(a["motion"], b["motion"]) and a["text"] == b["text"]
    row = small.row(ds.rows[0]["index"])
    full = normalise(part_features(row["joints"], float(row["fps"]), small.skeleton(row["skeleton"])), small.stats)
    start = (len(full) - 60) // 2 if len(full) > 60 else 0
    np.testing.assert_allclose(a["motion"].numpy(), full[start:start + 60])
    assert a["text"] == row["texts"][0]


def test_training_mirror_swaps_words_and_joints(small):
    ds = MotionTextDataset(small, "train", max_frames=1000, train=True, mirror_prob=1.0)
    it = ds[0]
    row = small.row(ds.rows[0]["index"])
    skeleton = small.skeleton(row["skeleton"])
    expected = normalise(part_features(mirror_joints(row["joints"], skeleton), float(row["fps"]), skeleton), small.stats)
    np.testing.assert_allclose(it["motion"].numpy(), expected, rtol=1e-5, atol=1e-5)


def test_collate_pads_and_masks(small):
    ds = MotionTextDataset(small, "train", max_frames=80)
    batch = Collate()([ds[i] for i in range(4)])
    assert set(batch) == {"motion", "mask", "lengths", "texts", "ids", "index"}
    assert batch["motion"].shape[:2] == batch["mask"].shape
    for b, n in enumerate(batch["lengths"].tolist()):
        assert batch["mask"][b].sum() == n <= 80 and batch["motion"][b, n:].abs().sum() == 0

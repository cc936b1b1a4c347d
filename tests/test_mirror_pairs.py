"""Mirror pairs (``settings.mirror_pairs``): a training item whose caption names a side carries the mirror image
of the same crop with the sides swapped, the collate stacks those pairs beside the batch, and LexCMLP (and dense)
ask each caption to pick its own motion over the mirror image (``mirror_pair_loss``)."""
import json
import math

import numpy as np
import pytest
import torch

from lexmotion.data.batching import Collate, MotionTextDataset, normalise
from lexmotion.data.dataset import MotionDataset, build_dataset
from lexmotion.data.features import mirror_features, part_features
from lexmotion.errors import LexmotionError
from lexmotion.models.losses import mirror_pair_loss


@pytest.fixture(scope="module")
def small(kitml_slice, tmp_path_factory):
    out = tmp_path_factory.mktemp("ds") / "kit"
    build_dataset("kitml-cmu", kitml_slice, out, progress=False)
    return MotionDataset(out)


def _side_captions(ds: MotionTextDataset) -> None:
    for row in ds.rows:
        row["texts"] = ["a person walks and turns left"]


def test_a_side_naming_item_carries_the_mirror_image_of_its_own_crop(small):
    ds = MotionTextDataset(small, "train", max_frames=20, train=True, mirror_prob=0.5, mirror_pairs=True)
    _side_captions(ds)
    row = small.row(ds.rows[0]["index"])
    raw = part_features(row["joints"], float(row["fps"]), small.skeleton(row["skeleton"]))
    views = normalise(raw, small.stats), normalise(mirror_features(raw), small.stats)
    assert len(views[0]) > 20                               # the crop is drawn, so the pair must follow it
    for seed in range(6):                                   # both draws of the random mirror
        torch.manual_seed(seed)
        item = ds[0]
        pair = item["pair"]
        flipped = item["text"].endswith("right")
        assert pair["text"] == "a person walks and turns " + ("left" if flipped else "right")
        own, other = (views[1], views[0]) if flipped else views
        starts = [s for s in range(len(own) - 19) if np.allclose(own[s:s + 20], item["motion"].numpy(), atol=1e-6)]
        assert starts, "the item is a crop of its own view"
        np.testing.assert_allclose(pair["motion"].numpy(), other[starts[0]:starts[0] + 20], atol=1e-6)


def test_without_a_side_word_or_the_setting_there_is_no_pair_and_nothing_else_changes(small):
    plain = MotionTextDataset(small, "train", max_frames=40, train=True, mirror_prob=0.5)
    paired = MotionTextDataset(small, "train", max_frames=40, train=True, mirror_prob=0.5, mirror_pairs=True)
    for ds in (plain, paired):
        for row in ds.rows:
            row["texts"] = ["a person jumps forward"]
    for seed in range(3):
        torch.manual_seed(seed)
        a = plain[0]
        torch.manual_seed(seed)
        b = paired[0]
        assert "pair" not in b and a["text"] == b["text"] and torch.equal(a["motion"], b["motion"])
    _side_captions(plain)
    torch.manual_seed(0)
    assert "pair" not in plain[0]


def test_the_collate_stacks_the_pairs_beside_the_batch(small):
    ds = MotionTextDataset(small, "train", max_frames=40, train=True, mirror_pairs=True)
    ds.rows[1]["texts"] = ["someone raises the right hand"]
    batch = Collate()([ds[i] for i in range(3)])
    assert batch["pair_of"].tolist() == [1]
    assert batch["pair_texts"] == ["someone raises the left hand"]
    assert batch["pair_motion"].shape[0] == 1 and batch["pair_mask"].shape == batch["pair_motion"].shape[:2]
    assert "pair_of" not in Collate()([ds[0], ds[2]])


def test_the_loss_is_log_2_when_the_vectors_cannot_tell_the_sides_and_falls_when_they_can():
    torch.manual_seed(0)
    text, motion = torch.rand(5, 30), torch.rand(5, 30)
    assert mirror_pair_loss(text, motion, text, motion, 0.02).item() == pytest.approx(math.log(2), abs=1e-5)
    left, right = torch.zeros(5, 30), torch.zeros(5, 30)
    left[:, 0], right[:, 1] = 1.0, 1.0                      # a word for each side
    told = mirror_pair_loss(text + left, motion + left, text + right, motion + right, 0.02)
    swapped = mirror_pair_loss(text + left, motion + right, text + right, motion + left, 0.02)
    assert told.item() < 0.1 < math.log(2) < swapped.item()


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["lexcmlp", "dense"])
def test_a_phase_trains_with_mirror_pairs_and_records_the_term(tiny_setup, tmp_path, phase, sided_captions):
    recipe = json.loads((tiny_setup / "tiny.json").read_text())
    recipe.setdefault("settings", {})["mirror_pairs"] = 1.0
    (tmp_path / "pairs.json").write_text(json.dumps(recipe))
    from lexmotion.app.cli import main
    assert main([str(a) for a in ["pretrain", phase, "--data", tiny_setup / "kit", "--config", tmp_path / "pairs.json",
                                  "--out", tmp_path / phase, "--batch-size", 4, "--max-steps", 2, "--wandb",
                                  "disabled", "--quiet"]]) == 0
    metrics = [json.loads(line) for line in (tmp_path / phase / "metrics.jsonl").read_text().splitlines()]
    terms = [m["train_mirror_pairs"] for m in metrics if "train_mirror_pairs" in m]
    assert terms and all(0 < t < 10 for t in terms)
    saved = json.loads((tmp_path / phase / "config.json").read_text())
    assert saved["train"]["settings"]["mirror_pairs"] == 1.0


def test_a_negative_weight_is_one_line():
    from pretrain.settings import resolve
    with pytest.raises(LexmotionError, match="mirror_pairs must not be negative"):
        resolve("lexcmlp", {"settings": {"mirror_pairs": -1}, "source": "mine.json"})

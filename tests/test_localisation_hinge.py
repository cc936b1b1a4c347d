"""LexCMLP's localisation hinge: clips joined in pairs, and a caption word asked to peak on its own clip."""
import json

import pytest
import torch
from conftest import pretrain_tiny

from pretrain.phases import join_pairs, localisation_hinge


def _batch(lengths, frames=160, dim=3):
    """Clip b's frame t holds the value 1000 b + t in every feature, so a joined frame names its source."""
    motion = torch.zeros(len(lengths), frames, dim)
    for b, n in enumerate(lengths):
        motion[b, :n] = (1000 * b + torch.arange(n, dtype=torch.float))[:, None]
    return motion, torch.arange(frames)[None] < torch.tensor(lengths)[:, None]


@pytest.mark.parametrize("lengths", [[160, 160, 160], [40, 160, 17], [12, 9, 160, 90]])
def test_a_joined_pair_is_a_crop_of_each_clip_with_the_seam_on_a_patch_boundary(lengths):
    motion, mask = _batch(lengths)
    generator = torch.Generator().manual_seed(0)
    for _ in range(20):
        joined, joined_mask, firsts = join_pairs(motion, mask, 8, 160, generator)
        assert joined.shape[1] <= 160
        for b, first in enumerate(firsts.tolist()):
            frames = joined[b, joined_mask[b], 0]
            source = (frames // 1000).long()
            seam = int((source == b).sum())
            assert seam >= 1 and (source[:seam] == b).all()                       # clip b, then its partner
            assert (source[seam:] == (b + 1) % len(lengths)).all() and len(frames) > seam
            assert first == -(-seam // 8)                                           # the seam's patch
            assert seam % 8 == 0 or seam == lengths[b]                               # whole patches unless b is shorter
            times = frames % 1000
            assert (times[1:seam] - times[:seam - 1] == 1).all()                    # each side one contiguous crop
            assert (times[seam + 1:] - times[seam:-1] == 1).all()


def test_the_hinge_asks_each_clips_words_to_peak_on_that_clip():
    # two pairs of 4 patches, the first 2 patches from clip b; words: 0 only clip 0's, 1 only clip 1's,
    # 2 both captions', so it says nothing about where
    labels = torch.tensor([[1.0, -1.0, 1.0], [-1.0, 1.0, 1.0]])
    firsts, real = torch.tensor([2, 2]), torch.ones(2, 4, dtype=torch.bool)
    z = torch.full((2, 4, 3), -3.0)
    z[0, :2, 0] = 2.0               # pair (0, 1): clip 0's word peaks on clip 0 ...
    z[0, 2:, 1] = 2.0               # ... and clip 1's word on clip 1
    z[1, :2, 1] = 2.0               # pair (1, 0): clip 1's word on clip 1, clip 0's on clip 0
    z[1, 2:, 0] = 2.0
    z[:, :, 2] = torch.tensor([5.0, -5.0, -5.0, 5.0])       # a shared word may peak anywhere
    assert localisation_hinge(z, firsts, real, labels, margin=1.0).item() == 0
    z[0, 3, 0] = 2.5                # clip 0's word peaks higher on its partner: penalised by 1.5
    z.requires_grad_(True)
    loss = localisation_hinge(z, firsts, real, labels, margin=1.0)
    loss.backward()
    assert loss.item() == pytest.approx(1.5 / 4)          # four placed words, one misplaced
    assert z.grad[0, 3, 0] > 0 and z.grad[0, 0, 0] < 0 and z.grad[:, :, 2].abs().sum() == 0


def test_padding_patches_are_never_a_peak():
    labels = torch.tensor([[1.0, -1.0], [-1.0, 1.0]])
    z = torch.zeros(2, 4, 2)
    z[:, 3] = 100.0                                        # a padding patch with a huge logit
    real = torch.tensor([[True, True, True, False]] * 2)
    loss = localisation_hinge(z, torch.tensor([2, 2]), real, labels, margin=1.0)
    assert loss.item() == pytest.approx(1.0)               # every gap is 0: the padding is not read


def test_lexcmlp_trains_with_the_hinge_and_logs_it(tiny_setup, tmp_path):
    config = json.loads((tiny_setup / "tiny.json").read_text())
    config["settings"] = {**config.get("settings", {}), "localise_motion": 1.0}
    (tmp_path / "localise.json").write_text(json.dumps(config))
    out = tmp_path / "lexcmlp"
    assert pretrain_tiny(tiny_setup, "lexcmlp", out, 2, "--config", tmp_path / "localise.json") == 0
    logged = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line.strip()]
    assert any("train_localise_motion" in row for row in logged)
    assert json.loads((out / "config.json").read_text())["train"]["settings"]["localise_motion"] == 1.0


def test_a_negative_weight_is_refused():
    from lexmotion.errors import LexmotionError
    from pretrain.phases import PhaseSettings
    with pytest.raises(LexmotionError, match="localise_motion"):
        PhaseSettings(localise_motion=-1.0)

"""A phase's motion dropout and stochastic depth (``motion_dropout`` / ``motion_drop_path``): set over an --init
checkpoint's without touching its weights, recorded in the checkpoint, and a bad value is one line."""
import json

import pytest
import torch
from conftest import pretrain_tiny

from lexmotion.errors import LexmotionError
from lexmotion.models.motion_encoder import MotionEncoderConfig, MotionPatchEncoder


def test_set_regularisation_changes_every_drop_and_no_weight():
    encoder = MotionPatchEncoder(MotionEncoderConfig(dim=32, depth=3, heads=2, dropout=0.1, drop_path=0.0))
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    encoder.set_regularisation(dropout=0.3, drop_path=0.2)
    drops = [m.p for m in encoder.modules() if isinstance(m, torch.nn.Dropout)]
    assert len(drops) == 4 * 3 and set(drops) == {0.3}
    assert [getattr(b.drop_path1, "drop_prob", 0.0) for b in encoder.blocks] == pytest.approx([0.0, 0.1, 0.2])
    assert (encoder.config.dropout, encoder.config.drop_path) == (0.3, 0.2)
    after = encoder.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    x, mask = torch.randn(2, 16, encoder.config.feature_dim), torch.ones(2, 16, dtype=torch.bool)
    assert not torch.equal(encoder(x, mask)["tokens"], encoder(x, mask)["tokens"])     # training: the drops act
    encoder.eval()                                          # serving is unchanged: no drop at evaluation
    assert torch.equal(encoder(x, mask)["tokens"], encoder(x, mask)["tokens"])


def test_a_phase_continues_an_init_checkpoint_under_its_own_dropout(tiny_setup, tmp_path):
    assert pretrain_tiny(tiny_setup, "lexmmm", tmp_path / "lexmmm") == 0
    recipe = json.loads((tiny_setup / "tiny.json").read_text())
    recipe.setdefault("phases", {})["lexcmlp"] = {"motion_dropout": 0.25, "motion_drop_path": 0.15}
    (tmp_path / "reg.json").write_text(json.dumps(recipe))
    from lexmotion.app.cli import main
    assert main([str(a) for a in ["pretrain", "lexcmlp", "--data", tiny_setup / "kit", "--config", tmp_path / "reg.json",
                                  "--init", tmp_path / "lexmmm", "--out", tmp_path / "lexcmlp", "--batch-size", 4,
                                  "--max-steps", 2, "--wandb", "disabled", "--quiet"]]) == 0
    motion = json.loads((tmp_path / "lexcmlp" / "config.json").read_text())["model"]["motion"]
    assert (motion["dropout"], motion["drop_path"]) == (0.25, 0.15)


@pytest.mark.parametrize("value", [1.0, -0.1, True, "0.2"])
def test_a_bad_motion_dropout_is_one_line(value):
    from pretrain.settings import resolve
    with pytest.raises(LexmotionError, match="motion_dropout is a probability"):
        resolve("lexcmlp", {"phases": {"lexcmlp": {"motion_dropout": value}}, "source": "mine.json"})

"""Motion words from the whole take as well as its patches (``whole_take_words``): each word's pooled logit
is its largest over the time patches and the head on their mean; a phase sets it over an --init checkpoint,
the checkpoint records it, and a bad value is one line."""
import json

import pytest
import torch
from conftest import pretrain_tiny

from lexmotion.errors import LexmotionError
from lexmotion.models.checkpoint import load
from lexmotion.models.lexical import pool_over_vocabulary


def test_a_word_takes_its_largest_over_the_patches_and_the_whole_take(served_models, monkeypatch):
    model = load(served_models / "lex").eval()
    torch.manual_seed(0)                 # time tokens whose mean no single patch is like
    tokens = torch.randn(2, 6, model.config.motion.dim)
    real = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    monkeypatch.setattr(model, "motion_tokens", lambda motion, mask: {"time_tokens": tokens, "time_mask": real})
    motion, mask = torch.zeros(2, 48, 105), torch.ones(2, 48, dtype=torch.bool)
    with torch.no_grad():
        patches = model.motion_pooled_logits(motion, mask)
        model.config.whole_take_words = True
        both = model.motion_pooled_logits(motion, mask)
        m = real[..., None].float()
        mean = (tokens * m).sum(1, keepdim=True) / m.sum(1, keepdim=True)      # the padding takes no part
        whole = pool_over_vocabulary(model.motion_head, mean, torch.ones(2, 1, dtype=torch.bool), model.motion_mask)
    active = torch.isfinite(patches)
    assert torch.equal(active, torch.isfinite(both))       # the same vocabulary, -inf outside it
    assert torch.allclose(both[active], torch.maximum(patches, whole)[active], atol=1e-5)
    assert (both[active] > patches[active] + 1e-3).any()    # the whole take decides some words here


def test_a_phase_sets_it_over_an_init_checkpoint_and_records_it(tiny_setup, tmp_path):
    assert pretrain_tiny(tiny_setup, "lexmmm", tmp_path / "lexmmm") == 0
    recipe = json.loads((tiny_setup / "tiny.json").read_text())
    recipe.setdefault("phases", {})["lexcmlp"] = {"whole_take_words": True}
    (tmp_path / "whole.json").write_text(json.dumps(recipe))
    from lexmotion.app.cli import main
    assert main([str(a) for a in ["pretrain", "lexcmlp", "--data", tiny_setup / "kit", "--config", tmp_path / "whole.json",
                                  "--init", tmp_path / "lexmmm", "--out", tmp_path / "lexcmlp", "--batch-size", 4,
                                  "--max-steps", 2, "--wandb", "disabled", "--quiet"]]) == 0
    assert json.loads((tmp_path / "lexcmlp" / "config.json").read_text())["model"]["whole_take_words"] is True
    assert load(tmp_path / "lexcmlp").config.whole_take_words is True
    assert json.loads((tmp_path / "lexmmm" / "config.json").read_text())["model"]["whole_take_words"] is False


@pytest.mark.parametrize("value", [1, "yes"])
def test_a_bad_value_is_one_line(value):
    from pretrain.settings import resolve
    with pytest.raises(LexmotionError, match="whole_take_words is true or false"):
        resolve("lexcmlp", {"phases": {"lexcmlp": {"whole_take_words": value}}, "source": "mine.json"})

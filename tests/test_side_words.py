"""Side words (``settings.side_words``): on the mirror pairs, a motion's pooled logits must rank the side word its
caption names above that word's mirror, and the mirror image the reverse (``side_word_loss``)."""
import json
import math

import pytest
import torch

from lexmotion.errors import LexmotionError
from lexmotion.models.losses import side_lift_loss, side_word_loss
from pretrain.phases import PhaseSettings, side_word_rows, wants_pairs


def test_the_loss_is_log_2_when_the_logits_cannot_tell_the_sides_and_falls_when_they_can():
    rows, own, other = torch.tensor([0, 1]), torch.tensor([3, 4]), torch.tensor([4, 3])
    flat = torch.zeros(2, 6)
    assert side_word_loss(flat, flat, rows, own, other).item() == pytest.approx(math.log(2))
    told, mirror = flat.clone(), flat.clone()
    told[0, 3] = told[1, 4] = 8.0                 # each motion names its caption's side
    mirror[0, 4] = mirror[1, 3] = 8.0             # each mirror image the other side
    assert side_word_loss(told, mirror, rows, own, other).item() < 0.01
    assert side_word_loss(mirror, told, rows, own, other).item() > 7


def test_the_loss_reaches_logits_below_zero():
    # both side words silent (logits < 0): the weights give no gradient, the logits still do
    pooled = torch.full((1, 4), -3.0, requires_grad=True)
    side_word_loss(pooled, torch.full((1, 4), -3.0), torch.tensor([0]), torch.tensor([1]), torch.tensor([2])).backward()
    assert pooled.grad[0, 1] < 0 < pooled.grad[0, 2]


def test_the_lift_asks_the_shown_side_above_the_margin_where_the_ranking_is_already_met():
    rows, own, other = torch.tensor([0]), torch.tensor([1]), torch.tensor([2])
    ranked_below_zero = torch.tensor([[0.0, -1.0, -6.0, 0.0]], requires_grad=True)    # left over right, both silent
    mirror = torch.tensor([[0.0, -6.0, -1.0, 0.0]])
    assert side_word_loss(ranked_below_zero, mirror, rows, own, other).item() < 0.01
    lift = side_lift_loss(ranked_below_zero, mirror, rows, own, other, margin=1.0)
    assert lift.item() == pytest.approx(2.0)                                          # (1 - -1 + 1 - -1) / 2
    lift.backward()
    assert ranked_below_zero.grad[0, 1] < 0 and ranked_below_zero.grad[0, 2] == 0     # only the shown side is lifted
    shown = torch.tensor([[0.0, 1.5, -6.0, 0.0]])
    assert side_lift_loss(shown, torch.tensor([[0.0, -6.0, 1.5, 0.0]]), rows, own, other, margin=1.0).item() == 0


def test_each_named_side_word_is_paired_with_its_mirror():
    from lexmotion.models.model import LexicalModel
    from lexmotion.models.text import load_text_backbone

    class Words:                                  # what side_word_rows reads of a model
        tokenizer = load_text_backbone()[0]
        motion_mask, _mirror_words = torch.ones(len(tokenizer)), None
        mirror_words = LexicalModel.mirror_words
    vocab = Words.tokenizer.get_vocab()
    rows, own, other = side_word_rows(Words(), ["a person waves the left hand", "a person walks",
                                                "turns left then right", "someone turns right"])
    assert rows.tolist() == [0, 3]                # a caption that names both sides names neither
    assert own.tolist() == [vocab["left"], vocab["right"]] and other.tolist() == [vocab["right"], vocab["left"]]


def test_the_pairs_are_built_for_either_term():
    assert not wants_pairs("lexcmlp", PhaseSettings())
    assert wants_pairs("lexcmlp", PhaseSettings(side_words=1.0)) and wants_pairs("lexcmlp", PhaseSettings(side_lift=1.0))
    assert wants_pairs("dense", PhaseSettings(mirror_pairs=1.0)) and not wants_pairs("dense", PhaseSettings(side_words=1.0))
    assert not wants_pairs("lexmmm", PhaseSettings(mirror_pairs=1.0, side_words=1.0))


def test_a_negative_weight_is_one_line():
    from pretrain.settings import resolve
    with pytest.raises(LexmotionError, match="side_words must not be negative"):
        resolve("lexcmlp", {"settings": {"side_words": -1}, "source": "mine.json"})
    with pytest.raises(LexmotionError, match="side_lift must not be negative"):
        resolve("lexcmlp", {"settings": {"side_lift": -1}, "source": "mine.json"})


@pytest.mark.slow
def test_lexcmlp_trains_with_the_side_terms_alone_and_records_them(tiny_setup, tmp_path, sided_captions):
    recipe = json.loads((tiny_setup / "tiny.json").read_text())
    recipe.setdefault("settings", {}).update(side_words=1.0, side_lift=1.0, mirror_pairs=0.0)
    recipe["model"]["vocabulary"] = "clean"       # the slice's captions may never say "right": both sides sayable
    (tmp_path / "sides.json").write_text(json.dumps(recipe))
    from lexmotion.app.cli import main
    assert main([str(a) for a in ["pretrain", "lexcmlp", "--data", tiny_setup / "kit", "--config", tmp_path / "sides.json",
                                  "--out", tmp_path / "run", "--batch-size", 4, "--max-steps", 2, "--wandb", "disabled",
                                  "--quiet"]]) == 0
    metrics = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    for name in ("train_side_words", "train_side_lift"):
        terms = [m[name] for m in metrics if name in m]
        assert terms and all(0 < t < 10 for t in terms), name
    assert not any("train_mirror_pairs" in m for m in metrics)

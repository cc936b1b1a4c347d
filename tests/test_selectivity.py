"""The selectivity hinge of LexCMLP: which words a caption shows, which it does not, and the loss."""
import pytest
import torch

from lexmotion.models.lexical import lexical_weights
from pretrain.phases import selective_labels, selective_loss


@pytest.fixture(scope="module")
def tokenizer():
    from lexmotion.models.text import load_text_backbone
    return load_text_backbone()[0]


def _label(tokenizer, ids, labels, row, word):
    return float(labels[row, ids.tolist().index(tokenizer.convert_tokens_to_ids(word))])


def test_own_words_shown_others_absent_and_kin_left_alone(tokenizer):
    texts = ["a person walks forward", "someone is walking in a circle", "a man jumps"]
    ids, labels = selective_labels(tokenizer, texts, torch.ones(len(tokenizer)))
    assert _label(tokenizer, ids, labels, 0, "walks") == 1
    assert _label(tokenizer, ids, labels, 0, "walking") == 0        # same stem as its own "walks"
    assert _label(tokenizer, ids, labels, 0, "jumps") == -1
    assert _label(tokenizer, ids, labels, 2, "walks") == -1
    assert _label(tokenizer, ids, labels, 1, "circle") == 1
    assert "a" not in tokenizer.convert_ids_to_tokens(ids.tolist())   # stop words are never labels


def test_words_outside_the_mask_are_not_labels(tokenizer):
    mask = torch.ones(len(tokenizer))
    mask[tokenizer.convert_tokens_to_ids("jumps")] = 0
    ids, _ = selective_labels(tokenizer, ["a person walks", "a man jumps"], mask)
    assert tokenizer.convert_tokens_to_ids("jumps") not in ids.tolist()


def test_the_hinge_is_zero_exactly_when_absent_words_weigh_nothing():
    ids = torch.tensor([3, 7])
    labels = torch.tensor([[1.0, -1.0], [-1.0, 1.0]])
    logits = torch.full((2, 10), -5.0)
    logits[0, 3] = logits[1, 7] = 2.0
    assert selective_loss(logits, ids, labels, margin=1.0).item() == 0
    assert lexical_weights(logits)[0, 7] == 0                      # an absent word's weight is exactly 0
    logits[0, 7] = 0.5                                             # an absent word creeps up: penalised
    logits.requires_grad_(True)
    loss = selective_loss(logits, ids, labels, margin=1.0)
    loss.backward()
    assert loss.item() == pytest.approx(1.5 / 2)                   # one of the two absent entries, by 1.5
    assert logits.grad[0, 7] > 0 and logits.grad[0, 3] == 0


def test_the_absent_hinge_spares_a_captions_words_and_their_kin(tokenizer):
    from pretrain.phases import absent_loss
    ids = {w: tokenizer.convert_tokens_to_ids(w) for w in ("walks", "walking", "jumps")}
    logits = torch.full((1, len(tokenizer)), -5.0)
    logits[0, ids["walks"]] = logits[0, ids["walking"]] = 3.0        # its own word and its kin: not absent
    assert absent_loss(logits, tokenizer, ["a person walks"], margin=1.0).item() == 0
    logits[0, ids["jumps"]] = 0.5                                      # an absent word over -margin
    assert absent_loss(logits, tokenizer, ["a person walks"], margin=1.0).item() == pytest.approx(1.5)

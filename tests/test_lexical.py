import pytest
import torch

from lexmotion.models.lexical import (
    LexicalHead,
    bottleneck,
    explain,
    flops_loss,
    lexical_pool,
    real_token_mask,
)
from lexmotion.models.motion_encoder import MotionEncoderConfig, MotionPatchEncoder


def naive_pool(logits, mask, vocab_mask):
    out = torch.zeros(logits.shape[0], logits.shape[2])
    for b in range(logits.shape[0]):
        for v in range(logits.shape[2]):
            vals = [torch.log1p(torch.relu(logits[b, t, v])) for t in range(logits.shape[1]) if mask[b, t]]
            out[b, v] = max(vals) * vocab_mask[v] if vals else 0.0
    return out


def test_lexical_pool_matches_a_naive_loop():
    torch.manual_seed(0)
    logits = torch.randn(3, 5, 7) * 3
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    vocab_mask = torch.tensor([0, 1, 1, 1, 0, 1, 1.0])
    pooled = lexical_pool(logits, mask, vocab_mask)
    torch.testing.assert_close(pooled, naive_pool(logits, mask, vocab_mask))
    assert (pooled >= 0).all() and (pooled[:, [0, 4]] == 0).all()


def test_padding_never_contributes():
    logits = torch.full((1, 3, 4), -1.0)
    logits[0, 2] = 10.0                              # a padded token with large logits
    pooled = lexical_pool(logits, torch.tensor([[1, 1, 0]], dtype=torch.bool))
    assert (pooled == 0).all()


def test_real_token_mask_drops_special_tokens():
    ids = torch.tensor([[101, 2000, 2001, 102, 0]])
    mask = real_token_mask(ids, torch.tensor([[1, 1, 1, 1, 0]]), special_ids=[0, 101, 102])
    assert mask.tolist() == [[False, True, True, False, False]]


def test_flops_loss():
    w = torch.tensor([[1.0, 0.0], [3.0, 2.0]])
    assert flops_loss(w).item() == pytest.approx(2.0 ** 2 + 1.0 ** 2)


def test_head_is_tied_to_the_word_embeddings():
    emb = torch.nn.Embedding(11, 8)
    head = LexicalHead(5, emb)
    assert head.word_embeddings.weight is emb.weight
    out = head(torch.randn(2, 3, 5))
    assert out.shape == (2, 3, 11)
    out.sum().backward()
    assert emb.weight.grad is not None
    emb.weight.grad = None
    logits = torch.randn(2, 11, requires_grad=True)
    z = bottleneck(logits, emb.weight)
    z.sum().backward()
    assert z.shape == (2, 8) and logits.grad is not None
    assert emb.weight.grad is None, "the bottleneck must not move the word embeddings"


class FakeTokenizer:
    def convert_ids_to_tokens(self, i):
        return f"w{i}"


def test_explain_lists_nonzero_words_by_weight():
    w = torch.tensor([0.0, 2.0, 0.5, 0.0])
    assert explain(w, FakeTokenizer(), k=3) == [("w1", 2.0), ("w2", 0.5)]


def test_motion_encoder_masks_padding():
    torch.manual_seed(0)
    enc = MotionPatchEncoder(MotionEncoderConfig(dim=32, depth=2, heads=2, max_frames=40, dropout=0.0, drop_path=0.0))
    enc.eval()
    x = torch.randn(1, 22, enc.config.feature_dim)
    mask = torch.ones(1, 22, dtype=torch.bool)
    alone = enc(x, mask)
    padded_x = torch.cat([x, torch.randn(1, 14, x.shape[-1]) * 100], dim=1)
    padded_mask = torch.cat([mask, torch.zeros(1, 14, dtype=torch.bool)], dim=1)
    padded = enc(padded_x, padded_mask)
    n = alone["tokens"].shape[1]
    assert alone["tokens"].shape == (1, 6 * 6, 32) and padded["time_mask"].sum() == 6
    torch.testing.assert_close(padded["tokens"][:, :n], alone["tokens"], atol=1e-5, rtol=1e-5)
    pooled = MotionPatchEncoder.pooled(padded["tokens"], padded["token_mask"])
    torch.testing.assert_close(pooled, alone["tokens"].mean(dim=1), atol=1e-5, rtol=1e-5)

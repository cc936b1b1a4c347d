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


def _fast_and_reference(head, hidden, mask, active):
    """The head's pooled logits and all gradients, by the fast path and by the reference formula."""
    out = {}
    for fused in (True, False):
        head.zero_grad()
        h = hidden.clone().requires_grad_(True)
        head.fused = fused
        pooled = head.pooled(h, mask, active)
        weights = torch.log1p(torch.relu(pooled))
        # a loss that reaches every word: the lexical weights and a softmax over the pooled logits
        finite = torch.isfinite(pooled).all(-1, keepdim=True)
        soft = torch.log_softmax(pooled.masked_fill(~finite, 0), -1)
        loss = (weights * torch.linspace(-1, 2, weights.shape[-1])).sum() - (soft * finite).sum() / 7
        loss.backward()
        out[fused] = (pooled.detach(), h.grad, head.word_embeddings.weight.grad.clone(), head.bias.grad.clone(),
                      head.dense.weight.grad.clone(), head.norm.weight.grad.clone())
    del head.fused
    return out[True], out[False]


@pytest.mark.parametrize("active", [None, torch.tensor([0, 3, 7, 8, 20, 41, 49])])
def test_fast_pooled_head_equals_the_formula_values_and_gradients(active):
    torch.manual_seed(0)
    head = LexicalHead(6, torch.nn.Embedding(50, 8))
    head.bias.data.normal_()
    head.chunk_elements = 1          # 256-word chunks; with 50 words, one: see the chunked test below
    hidden = torch.randn(4, 5, 6)
    mask = torch.tensor([[1, 1, 1, 0, 0], [0, 1, 1, 1, 1], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]], dtype=torch.bool)
    fast, reference = _fast_and_reference(head, hidden, mask, active)
    assert torch.equal(torch.isinf(fast[0]), torch.isinf(reference[0])) and torch.isinf(fast[0][3]).all()
    for a, b in zip(fast, reference):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_fast_pooled_head_in_chunks_equals_one_chunk():
    torch.manual_seed(1)
    head = LexicalHead(6, torch.nn.Embedding(1000, 8))      # 1,000 words: 4 chunks of 256
    head.bias.data.normal_()
    hidden = torch.randn(3, 7, 6)
    mask = torch.rand(3, 7) < 0.6
    mask[:, 0] = True
    head.chunk_elements = 1
    chunked, reference = _fast_and_reference(head, hidden, mask, None)
    head.chunk_elements = 1 << 23
    whole, _ = _fast_and_reference(head, hidden, mask, None)
    for a, b, c in zip(chunked, whole, reference):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-4)    # sums in another order
        torch.testing.assert_close(a, c, rtol=1e-5, atol=1e-4)

"""Lexical heads and sparse operations: the one place for the lexical formulas.

- ``lexical_pool``: w_v = max over real tokens of log(1 + ReLU(logit_v)), words outside
  the vocabulary mask removed: the formula, on a (B, L, V) logit tensor. Its two halves are
  ``max_pool_logits`` and ``lexical_weights``; the model computes the first half with
  ``LexicalHead.pooled`` (below) through ``pool_over_vocabulary``, never building that tensor.
- ``LexicalHead``: BERT's MLM form, dense -> GELU -> LayerNorm -> decoder tied to
  the word embeddings, plus a bias. ``LexicalHead.pooled`` is the fast path of
  ``max_pool_logits(head(hidden, active), mask)``: real tokens only, the vocabulary in chunks,
  and only the argmax token of each word kept for the backward pass (``MaxPooledLogits``).
- ``flops_loss``: the FLOPS sparsity regulariser, sum_v (mean_b w_bv)^2.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def lexical_pool(logits: torch.Tensor, token_mask: torch.Tensor, vocab_mask: torch.Tensor | None = None) -> torch.Tensor:
    """(B, L, V) logits, (B, L) mask of real tokens -> (B, V) non-negative lexical weights:
    w_v = max over real tokens of log(1 + ReLU(logit_v)), 0 outside ``vocab_mask``."""
    return lexical_weights(max_pool_logits(logits, token_mask, vocab_mask))


def lexical_weights(pooled_logits: torch.Tensor) -> torch.Tensor:
    """log(1 + ReLU(.)) of max-pooled logits. The map is non-decreasing, so it commutes with the
    max: log(1 + ReLU(max_t z_t)) = max_t log(1 + ReLU(z_t)). Pooling first keeps only (B, V)
    for the backward pass instead of three (B, L, V) tensors. -inf (masked) gives 0."""
    return torch.log1p(torch.relu(pooled_logits))


def max_pool_logits(logits: torch.Tensor, token_mask: torch.Tensor, vocab_mask: torch.Tensor | None = None) -> torch.Tensor:
    """(B, L, V) -> (B, V): max over real tokens of the raw logits (input of the bottleneck softmax
    and of ``lexical_weights``). Words outside the vocabulary mask, and rows without a real token,
    get -inf, so the softmax gives them no weight and the lexical weight is 0."""
    pooled = logits.masked_fill(~token_mask.bool()[..., None], float("-inf")).max(dim=1).values
    return pooled.masked_fill(vocab_mask == 0, float("-inf")) if vocab_mask is not None else pooled


def real_token_mask(input_ids: torch.Tensor, attention_mask: torch.Tensor, special_ids) -> torch.Tensor:
    """Attention mask without [CLS], [SEP] and other special tokens."""
    special = torch.isin(input_ids, torch.as_tensor(list(special_ids), device=input_ids.device))
    return attention_mask.bool() & ~special


def flops_loss(weights: torch.Tensor) -> torch.Tensor:
    """FLOPS regulariser (Paria et al. 2020): sum over the vocabulary of the squared mean weight."""
    return (weights.abs().mean(dim=0) ** 2).sum()


def bottleneck(weights_or_logits: torch.Tensor, word_embeddings: torch.Tensor) -> torch.Tensor:
    """Lexical bottleneck: softmax over the vocabulary times the detached embedding matrix.

    (B, V) -> (B, H). The embeddings are detached so the bottleneck cannot move them.
    """
    return F.softmax(weights_or_logits, dim=-1) @ word_embeddings.detach()


def _pool_chunk(words: int, slots: int, elements: int) -> int:
    """Vocabulary rows per chunk so that one chunk's (slots, rows) logits hold about ``elements``."""
    return max(256, min(words, elements // max(slots, 1)))


class MaxPooledLogits(torch.autograd.Function):
    """(B, A) max over each row's real tokens of x_t . W_a + b_a for the words a in ``active``, with
    its gradients.

    x: (N, H) the features of the real tokens of all rows, packed; slots: (B, S) the row of x
    of each of a row's tokens, N where a row has fewer (an empty slot); weight (V, H) and bias (V,)
    the whole tied decoder, of which only the ``active`` rows are read, ``chunk`` words at a time.
    Memory holds one (N, chunk) block of logits, never tokens x vocabulary, and the backward pass
    keeps x and the (B, A) argmax rows only (no copy of the decoder). Padding, [CLS] and [SEP]
    cost nothing. The gradient of a pooled logit goes to its argmax token, as torch's max does.
    """

    @staticmethod
    @torch.amp.custom_fwd(device_type="cuda")
    def forward(ctx, x, weight, bias, active, slots, chunk: int):
        words = len(active)
        pooled = x.new_empty(len(slots), words)
        rows = torch.empty(len(slots), words, dtype=torch.long, device=x.device)
        for s in range(0, words, chunk):
            e = min(s + chunk, words)
            ids = active[s:e]
            logits = torch.addmm(bias[ids], x, weight[ids].t())                        # (N, C)
            logits = torch.cat([logits, logits.new_full((1, e - s), float("-inf"))])   # empty slot: -inf
            values, arg = logits[slots].max(dim=1)                                     # (B, S, C) -> (B, C)
            pooled[:, s:e] = values
            rows[:, s:e] = slots.gather(1, arg)
        ctx.save_for_backward(x, weight, active, rows)
        ctx.chunk = chunk
        return pooled

    @staticmethod
    @torch.amp.custom_bwd(device_type="cuda")
    def backward(ctx, grad):
        x, weight, active, rows = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        n, words = len(x), len(active)
        dx = torch.zeros_like(x) if need_x else None
        dw = torch.zeros_like(weight) if need_w else None
        for s in range(0, words, ctx.chunk):
            e = min(s + ctx.chunk, words)
            ids = active[s:e]
            g = grad.new_zeros(n + 1, e - s).scatter_add_(0, rows[:, s:e], grad[:, s:e])[:n]   # (N, C)
            if need_x:
                dx += (g @ weight[ids].to(g.dtype)).to(dx.dtype)
            if need_w:
                dw.index_copy_(0, ids, (g.t() @ x.to(g.dtype)).to(dw.dtype))
        db = grad.new_zeros(len(weight)).index_copy_(0, active, grad.sum(0)) if need_b else None
        return dx, dw, db, None, None, None


def token_slots(token_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, L) mask of real tokens -> (flat indices of the real tokens (N,), (B, S) slots): slot j of
    row b is the packed index of b's j-th real token, N where b has fewer than S = max real tokens."""
    token_mask = token_mask.bool()
    flat = torch.nonzero(token_mask.flatten()).flatten()
    counts = token_mask.sum(1)
    width = max(int(counts.max()) if len(counts) else 0, 1)
    position = torch.arange(width, device=token_mask.device)
    starts = torch.cumsum(counts, 0) - counts
    slots = torch.where(position[None] < counts[:, None], starts[:, None] + position[None], len(flat))
    return flat, slots


class LexicalHead(nn.Module):
    """dense -> GELU -> LayerNorm -> decoder tied to ``word_embeddings`` (+ bias)."""

    def __init__(self, in_dim: int, word_embeddings: nn.Embedding, layer_norm_eps: float = 1e-12):
        super().__init__()
        hidden = word_embeddings.embedding_dim
        self.dense = nn.Linear(in_dim, hidden)
        self.norm = nn.LayerNorm(hidden, eps=layer_norm_eps)
        self.word_embeddings = word_embeddings          # shared, not copied
        self.bias = nn.Parameter(torch.zeros(word_embeddings.num_embeddings))

    def forward(self, hidden_states: torch.Tensor, active: torch.Tensor | None = None) -> torch.Tensor:
        """(..., H) -> (..., V) logits, or (..., A) for the ``active`` word ids only: a gather of
        the tied embedding rows, so a small vocabulary costs A/V of the full matmul."""
        x = self.norm(F.gelu(self.dense(hidden_states)))
        if active is None:
            return F.linear(x, self.word_embeddings.weight, self.bias)              # (..., V)
        return F.linear(x, self.word_embeddings.weight[active], self.bias[active])  # (..., A)

    # False: ``pooled`` takes the reference path (all tokens x all words, then the max), the
    # formula the fast path is tested against (``python -m pretrain.bench --lexical-head reference``).
    fused = True
    chunk_elements = 1 << 23

    def pooled(self, hidden_states: torch.Tensor, token_mask: torch.Tensor, active: torch.Tensor | None = None) -> torch.Tensor:
        """(B, L, H) states, (B, L) real tokens -> (B, A) max-pooled logits over the ``active`` words
        (all words when None); -inf for a row without a real token. Equals
        ``max_pool_logits(self(hidden_states, active), token_mask)``, values and gradients."""
        if not self.fused:
            return max_pool_logits(self(hidden_states, active), token_mask)
        flat, slots = token_slots(token_mask)
        x = self.norm(F.gelu(self.dense(hidden_states.reshape(-1, hidden_states.shape[-1])[flat])))
        weight = self.word_embeddings.weight
        if active is None:
            active = torch.arange(len(weight), device=weight.device)
        chunk = _pool_chunk(len(active), max(slots.numel(), len(x)), self.chunk_elements)
        return MaxPooledLogits.apply(x, weight, self.bias, active, slots, chunk)

    def load_bert_mlm_head(self, state: dict) -> None:
        """Initialise from a BERT ``cls.predictions`` state dict (transform.dense, LayerNorm, bias)."""
        self.dense.load_state_dict({"weight": state["transform.dense.weight"], "bias": state["transform.dense.bias"]})
        self.norm.load_state_dict({"weight": state["transform.LayerNorm.weight"], "bias": state["transform.LayerNorm.bias"]})
        bias = state.get("bias", state.get("decoder.bias"))
        if bias is not None:
            self.bias.data.copy_(bias)


def pool_over_vocabulary(head: LexicalHead, hidden: torch.Tensor, token_mask: torch.Tensor,
                         vocab_mask: torch.Tensor) -> torch.Tensor:
    """(B, V) pooled logits of ``head`` for the words of ``vocab_mask`` (a gather of their rows of the
    tied decoder, not a mask after the full-vocabulary matmul); -inf for the other words."""
    active = torch.nonzero(vocab_mask).flatten()
    pooled = head.pooled(hidden, token_mask, active)                                   # (B, A)
    full = pooled.new_full((len(pooled), len(vocab_mask)), float("-inf"))
    return full.index_copy(1, active, pooled)


def explain(weights: torch.Tensor, tokenizer, k: int = 10) -> list[tuple[str, float]]:
    """Top-k (word, weight) pairs of one lexical vector (V,), non-zero only."""
    values, index = torch.topk(weights.float(), min(k, weights.numel()))
    return [(tokenizer.convert_ids_to_tokens(int(i)), float(v)) for v, i in zip(values, index) if v > 0]

"""Lexical heads and sparse operations: the one place for the lexical formulas.

- ``lexical_pool``: w_v = max over real tokens of log(1 + ReLU(logit_v)), words outside
  the vocabulary mask removed. Every caller (text, motion, bottlenecks, retrieval) uses it,
  or its two halves ``max_pool_logits`` and ``lexical_weights`` when it needs both.
- ``LexicalHead``: BERT's MLM form, dense -> GELU -> LayerNorm -> decoder tied to
  the word embeddings, plus a bias.
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

    def load_bert_mlm_head(self, state: dict) -> None:
        """Initialise from a BERT ``cls.predictions`` state dict (transform.dense, LayerNorm, bias)."""
        self.dense.load_state_dict({"weight": state["transform.dense.weight"], "bias": state["transform.dense.bias"]})
        self.norm.load_state_dict({"weight": state["transform.LayerNorm.weight"], "bias": state["transform.LayerNorm.bias"]})
        bias = state.get("bias", state.get("decoder.bias"))
        if bias is not None:
            self.bias.data.copy_(bias)


def explain(weights: torch.Tensor, tokenizer, k: int = 10) -> list[tuple[str, float]]:
    """Top-k (word, weight) pairs of one lexical vector (V,), non-zero only."""
    values, index = torch.topk(weights.float(), min(k, weights.numel()))
    return [(tokenizer.convert_ids_to_tokens(int(i)), float(v)) for v, i in zip(values, index) if v > 0]

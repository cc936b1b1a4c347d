"""Caption decoders. Both are step functions so that teacher forcing, greedy,
beam and synergetic decoding share one code path:

    state = decoder.init_state(memory)
    logits, state, info = decoder.step(prev_words, state, memory)

``info`` holds the step's interpretable quantities (attention, beta, window).
Every tensor in ``state`` and ``memory`` has the batch first, so beam search
reorders them with one ``index_select``.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

NEG = -1e9


class GuidedDecoder(nn.Module):
    """Guided-attention decoder (Radouane et al. 2024, Sec. 3.1).

    Bottom LSTM: input [E y_{t-1}; top hidden_{t-1}] -> h_t.
    Spatial attention (eq. 5-6): s_tik = w_s^T tanh(W_ps P_ik + W_hs h_t); alpha = softmax over parts i.
    Temporal attention (eq. 2-3): z_tik = w_h^T tanh(W_p P_ik + W_h h_t); gamma_t = softmax over frames k of
      logsumexp_i z_tik. mu_t and sigma_t are gamma_t's mean and standard deviation over k, and the
      Gaussian Gamma_tk = exp(-(k - mu_t)^2 / (2 sigma_t^2)) (eq. 4) is renormalised to sum to 1 over real frames.
    Context (eq. 8): c_t = sum_k sum_i Gamma_tk alpha_tik P_ik.
    Gate (eq. 7): beta_t = sigmoid(W_b h_t + W_e E y_{t-1}).
    Top LSTM: input [E y_{t-1}; h_t] -> hbar_t (language only).
    Adaptive context (eq. 9): cbar_t = beta_t tanh(W_m c_t) + (1 - beta_t) tanh(W_r hbar_t).
    Output (eq. 10): logits = W_o tanh(W_f [cbar_t; E y_{t-1}; h_t]).
    """

    def __init__(self, vocab_size: int, enc_dim: int, emb: int = 64, hidden: int = 128, att: int = 64,
                 dropout: float = 0.3):
        super().__init__()
        self.hidden = hidden
        self.embed = nn.Embedding(vocab_size, emb)
        self.init_h = nn.Linear(enc_dim, 4 * hidden)
        self.bottom = nn.LSTMCell(emb + hidden, hidden)
        self.top = nn.LSTMCell(emb + hidden, hidden)
        self.spatial_p, self.spatial_h, self.spatial_w = nn.Linear(enc_dim, att), nn.Linear(hidden, att), nn.Linear(att, 1)
        self.temporal_p, self.temporal_h, self.temporal_w = nn.Linear(enc_dim, att), nn.Linear(hidden, att), nn.Linear(att, 1)
        self.gate_h, self.gate_e = nn.Linear(hidden, 1), nn.Linear(emb, 1, bias=False)
        self.motion_out, self.language_out = nn.Linear(enc_dim, hidden), nn.Linear(hidden, hidden)
        self.fuse = nn.Linear(2 * hidden + emb, hidden)
        self.out = nn.Linear(hidden, vocab_size)
        self.drop = nn.Dropout(dropout)

    def init_state(self, memory: dict) -> dict:
        if memory.get("parts") is None:
            raise ValueError("the guided decoder needs a part-based encoder (parts or lexical:CKPT)")
        h0, c0, h1, c1 = torch.tanh(self.init_h(memory["summary"])).chunk(4, dim=-1)
        # Projections of the memory that do not depend on the step, computed once.
        memory["_sp"] = self.spatial_p(memory["parts"])
        memory["_tp"] = self.temporal_p(memory["parts"])
        return {"h": h0, "c": c0, "hbar": h1, "cbar": c1}

    def step(self, prev: torch.Tensor, state: dict, memory: dict):
        x = self.drop(self.embed(prev))
        h, c = self.bottom(torch.cat([x, state["hbar"]], -1), (state["h"], state["c"]))
        parts, mask = memory["parts"], memory["mask"]                                       # (B,T,6,H), (B,T)
        s = self.spatial_w(torch.tanh(memory["_sp"] + self.spatial_h(h)[:, None, None])).squeeze(-1)   # (B,T,6)
        alpha = F.softmax(s, dim=-1)
        z = self.temporal_w(torch.tanh(memory["_tp"] + self.temporal_h(h)[:, None, None])).squeeze(-1)
        z = torch.logsumexp(z, dim=-1).masked_fill(~mask, NEG)                              # (B,T)
        gamma = F.softmax(z, dim=-1)
        k = torch.arange(mask.shape[1], device=mask.device, dtype=gamma.dtype)
        mu = (gamma * k).sum(-1)
        # clamp before the square root (the same values): sqrt's gradient at a zero variance (a
        # one-step memory, e.g. language pretraining's empty one) would be inf * 0 = NaN
        sigma = (gamma * (k - mu[:, None]) ** 2).sum(-1).clamp(min=1.0).sqrt()
        window = torch.exp(-((k - mu[:, None]) ** 2) / (2 * sigma[:, None] ** 2)) * mask
        window = window / window.sum(-1, keepdim=True).clamp(min=1e-9)
        context = torch.einsum("bt,btp,btph->bh", window, alpha, parts)
        beta = torch.sigmoid(self.gate_h(h) + self.gate_e(x)).squeeze(-1)                   # (B,)
        hbar, cbar = self.top(torch.cat([x, h], -1), (state["hbar"], state["cbar"]))
        mixed = beta[:, None] * torch.tanh(self.motion_out(context)) + (1 - beta[:, None]) * torch.tanh(self.language_out(hbar))
        logits = self.out(self.drop(torch.tanh(self.fuse(torch.cat([mixed, x, h], -1)))))
        info = {"alpha": alpha, "gamma": gamma, "window": window, "mu": mu, "sigma": sigma, "beta": beta}
        return logits, {"h": h, "c": c, "hbar": hbar, "cbar": cbar}, info


class LocalDecoder(nn.Module):
    """GRU decoder with recurrent local attention (Motion2Language).

    Position (monotonic): p_t = p_{t-1} + (L - 1 - p_{t-1}) * sigmoid(v^T tanh(W h_{t-1})), p_0 = 0,
      L the clip's number of time steps.
    GRU: input [E y_{t-1}; context_{t-1}] -> h_t.
    Alignment a_tk = softmax_k(h_t^T W_a F_k), multiplied by the Gaussian window exp(-(k - p_t)^2 / (2 sigma^2)),
      sigma = D / 2, and renormalised. With ``truncate`` (training only), frames with |k - p_t| > D are hidden.
    Output: logits = W_o tanh(W_c [context_t; h_t]).
    """

    def __init__(self, vocab_size: int, enc_dim: int, emb: int = 64, hidden: int = 256, att: int = 128,
                 window: float = 8.0, truncate: bool = True, dropout: float = 0.3):
        super().__init__()
        self.window, self.truncate = window, truncate
        self.embed = nn.Embedding(vocab_size, emb)
        self.init_h = nn.Linear(enc_dim, hidden)
        self.gru = nn.GRUCell(emb + enc_dim, hidden)
        self.position = nn.Sequential(nn.Linear(hidden, att), nn.Tanh(), nn.Linear(att, 1))
        self.align = nn.Linear(enc_dim, hidden, bias=False)
        self.combine = nn.Linear(enc_dim + hidden, hidden)
        self.out = nn.Linear(hidden, vocab_size)
        self.drop = nn.Dropout(dropout)

    def init_state(self, memory: dict) -> dict:
        B, enc = memory["summary"].shape
        memory["_keys"] = self.align(memory["frames"])
        memory["_length"] = memory["mask"].sum(-1).to(memory["frames"].dtype)
        return {"h": torch.tanh(self.init_h(memory["summary"])), "p": memory["summary"].new_zeros(B),
                "context": memory["summary"].new_zeros(B, enc)}

    def step(self, prev: torch.Tensor, state: dict, memory: dict):
        x = self.drop(self.embed(prev))
        L = memory["_length"]
        p = state["p"] + (L - 1 - state["p"]) * torch.sigmoid(self.position(state["h"])).squeeze(-1)
        h = self.gru(torch.cat([x, state["context"]], -1), state["h"])
        mask = memory["mask"]
        k = torch.arange(mask.shape[1], device=mask.device, dtype=p.dtype)
        distance = k - p[:, None]
        visible = mask
        if self.truncate and self.training:
            visible = mask & (distance.abs() <= self.window)
            visible = visible | (mask & (distance.abs() == distance.abs().masked_fill(~mask, math.inf).min(-1, keepdim=True).values))
        scores = torch.einsum("bh,bth->bt", h, memory["_keys"]).masked_fill(~visible, NEG)
        weights = F.softmax(scores, -1) * torch.exp(-distance ** 2 / (2 * (self.window / 2) ** 2)) * visible
        weights = weights / weights.sum(-1, keepdim=True).clamp(min=1e-9)
        context = torch.einsum("bt,bth->bh", weights, memory["frames"])
        logits = self.out(self.drop(torch.tanh(self.combine(torch.cat([context, h], -1)))))
        return logits, {"h": h, "p": p, "context": context}, {"weights": weights, "position": p}

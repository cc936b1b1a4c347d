"""Greedy, beam and motion synergetic decoding, batched over clips.

Every decoder reads next-token log-probabilities from a ``Scorer``: one
captioner (``ModelScorer``) or two combined (``SynergyScorer``). <pad>, <bos>
and <unk> are never generated.

Motion synergetic decoding (after M-ACM's MSD; its summary names the five
components and the weights alpha = (0.5, 0.2, 0.4, 0.8, 0.3, 2.0) and
beta = 0.2, and we fix the expressions as follows). With p and q the two
captioners' next-token probabilities:

    L1 =  a1 * (exp(max(p, q)) - 1)        exponential amplification of confident tokens
    L2 =  a2 * (p + q) / 2                 arithmetic mean
    L3 = -a3 * |log p - log q|             soft log-penalty on disagreement
    L4 =  a4 * (p * q) ** a5               power-transformed agreement
    L5 = -a6 * (p - q) ** 2                quadratic penalty on large discrepancies
    S  = L1 + L2 + L3 + L4 + L5

Distribution pruning keeps the tokens with pbar = (p + q) / 2 >= beta * max pbar,
and the next-token distribution is softmax(log pbar + S) over the kept tokens.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

NEG = -1e9
SYNERGY_ALPHAS = (0.5, 0.2, 0.4, 0.8, 0.3, 2.0)
SYNERGY_BETA = 0.2


def _expand(tree: dict, index: torch.Tensor) -> dict:
    """index_select along the batch dim of every tensor in a (possibly nested) dict."""
    out = {}
    for k, v in tree.items():
        if isinstance(v, torch.Tensor):
            out[k] = v.index_select(0, index)
        elif isinstance(v, dict):
            out[k] = _expand(v, index)
        else:
            out[k] = v
    return out


class ModelScorer:
    def __init__(self, model):
        self.models = [model]
        self.vocab = model.vocab
        self.banned = [self.vocab.pad, self.vocab.bos, self.vocab.unk]

    def start(self, motion, mask, cached: dict | None = None) -> list:
        out = []
        for m in self.models:
            memory = m.encode(motion, mask) if cached is None else m.encode(motion, mask, cached if m.caches_memory else None)
            out.append((m.decoder.init_state(memory), memory))
        return out

    def reorder(self, states: list, index: torch.Tensor) -> list:
        return [(_expand(s, index), _expand(mem, index)) for s, mem in states]

    def _log_probs(self, logits: torch.Tensor) -> torch.Tensor:
        logits = logits.float().clone()
        logits[:, self.banned] = NEG
        return F.log_softmax(logits, -1)

    def step(self, prev, states: list):
        logits, new_state, _ = self.models[0].decoder.step(prev, *states[0])
        return self._log_probs(logits), [(new_state, states[0][1])]


@dataclass
class SynergyOptions:
    alphas: tuple = SYNERGY_ALPHAS
    beta: float = SYNERGY_BETA
    components: tuple = (1, 2, 3, 4, 5)     # which L_i enter S (ablation)
    prune: bool = True


def synergy_scores(p: torch.Tensor, q: torch.Tensor, options: SynergyOptions | None = None):
    """The synergy score S (see the module docstring) of every token."""
    options = options or SynergyOptions()
    a1, a2, a3, a4, a5, a6 = options.alphas
    eps = 1e-12
    terms = {1: a1 * (torch.exp(torch.maximum(p, q)) - 1), 2: a2 * (p + q) / 2,
             3: -a3 * (torch.log(p + eps) - torch.log(q + eps)).abs(), 4: a4 * (p * q).clamp(min=0) ** a5,
             5: -a6 * (p - q) ** 2}
    return sum(terms[i] for i in options.components) if options.components else torch.zeros_like(p)


def synergy_log_probs(lp_a: torch.Tensor, lp_b: torch.Tensor, options: SynergyOptions) -> torch.Tensor:
    p, q = lp_a.exp(), lp_b.exp()
    pbar = (p + q) / 2
    score = torch.log(pbar.clamp(min=1e-12)) + synergy_scores(p, q, options)
    if options.prune:
        keep = pbar >= options.beta * pbar.max(-1, keepdim=True).values
        score = score.masked_fill(~keep, NEG)
    score = score.masked_fill(pbar <= 1e-12, NEG)
    return F.log_softmax(score, -1)


class SynergyScorer(ModelScorer):
    """Two captioners with the same vocabulary, combined by motion synergetic decoding."""

    def __init__(self, model_a, model_b, options: SynergyOptions | None = None):
        from lexmotion.errors import LexmotionError
        if model_a.vocab != model_b.vocab:
            raise LexmotionError("--synergy needs two captioners trained with the same caption vocabulary "
                                 "(train both on the same data with the same --min-count)")
        super().__init__(model_a)
        self.models = [model_a, model_b]
        self.options = options or SynergyOptions()

    def step(self, prev, states: list):
        out, new_states = [], []
        for m, (state, memory) in zip(self.models, states):
            logits, s, _ = m.decoder.step(prev, state, memory)
            out.append(self._log_probs(logits))
            new_states.append((s, memory))
        return synergy_log_probs(out[0], out[1], self.options), new_states


def block_repeats(lp: torch.Tensor, seqs: list[list[int]], n: int) -> torch.Tensor:
    """Forbid, per row, every token that would repeat an n-gram already in that row's sequence."""
    if n <= 0:
        return lp
    for row, seq in enumerate(seqs):
        if len(seq) < n - 1:
            continue
        prefix = tuple(seq[len(seq) - n + 1:]) if n > 1 else ()
        banned = [seq[i + n - 1] for i in range(len(seq) - n + 1) if tuple(seq[i:i + n - 1]) == prefix]
        if banned:
            lp[row, banned] = NEG
    return lp


@torch.no_grad()
def greedy(scorer: ModelScorer, motion, mask, max_len: int = 30, no_repeat: int = 0,
           cached: dict | None = None) -> list[list[int]]:
    vocab = scorer.vocab
    states = scorer.start(motion, mask, cached)
    B = motion.shape[0]
    prev = torch.full((B,), vocab.bos, dtype=torch.long, device=motion.device)
    out = [[] for _ in range(B)]
    done = torch.zeros(B, dtype=torch.bool, device=motion.device)
    for _ in range(max_len + 1):
        lp, states = scorer.step(prev, states)
        prev = block_repeats(lp, out, no_repeat).argmax(-1)
        for b in torch.nonzero(~done).flatten().tolist():
            if int(prev[b]) == vocab.eos:
                done[b] = True
            else:
                out[b].append(int(prev[b]))
        if done.all():
            break
    return out


def beam_search(scorer: ModelScorer, motion, mask, beam: int = 2, max_len: int = 30,
                no_repeat: int = 0, cached: dict | None = None) -> list[list[int]]:
    """Batched beam search; hypotheses are ranked by their mean log-probability per token
    (the <eos> included), i.e. length-normalised. ``no_repeat`` > 0 forbids repeated n-grams."""
    return [hyps[0] for hyps in beam_nbest(scorer, motion, mask, beam, max_len, no_repeat, cached)]


@torch.no_grad()
def beam_nbest(scorer: ModelScorer, motion, mask, beam: int = 2, max_len: int = 30,
               no_repeat: int = 0, cached: dict | None = None) -> list[list[list[int]]]:
    """``beam_search``, keeping every finished hypothesis: per clip, the distinct word-id
    sequences, best first (at least one)."""
    vocab = scorer.vocab
    B, K = motion.shape[0], beam
    device = motion.device
    states = scorer.reorder(scorer.start(motion, mask, cached), torch.arange(B, device=device).repeat_interleave(K))
    scores = torch.full((B, K), NEG, device=device)
    scores[:, 0] = 0.0
    seqs = [[[] for _ in range(K)] for _ in range(B)]
    finished = [[] for _ in range(B)]
    prev = torch.full((B * K,), vocab.bos, dtype=torch.long, device=device)
    active = [True] * B
    for t in range(max_len + 1):
        lp, states = scorer.step(prev, states)
        lp = block_repeats(lp, [seq for row in seqs for seq in row], no_repeat)
        V = lp.shape[-1]
        cand = (scores[:, :, None] + lp.view(B, K, V)).view(B, K * V)
        top, idx = cand.topk(2 * K, dim=-1)
        new_scores = torch.full((B, K), NEG, device=device)
        origin = torch.zeros(B, K, dtype=torch.long, device=device)
        tokens = torch.full((B, K), vocab.eos, dtype=torch.long, device=device)
        new_seqs = [[[] for _ in range(K)] for _ in range(B)]
        for b in range(B):
            if not active[b]:
                continue
            kept = 0
            for s, i in zip(top[b].tolist(), idx[b].tolist()):
                if s <= NEG / 2:
                    break
                k, w = divmod(i, V)
                if w == vocab.eos:
                    finished[b].append((s / (len(seqs[b][k]) + 1), seqs[b][k]))
                    continue
                new_scores[b, kept], origin[b, kept], tokens[b, kept] = s, k, w
                new_seqs[b][kept] = seqs[b][k] + [w]
                kept += 1
                if kept == K:
                    break
            best_alive = new_scores[b].max().item() / (t + 2)
            if len(finished[b]) >= K and max(f[0] for f in finished[b]) >= best_alive:
                active[b] = False
        if not any(active):
            break
        scores, seqs = new_scores, new_seqs
        index = (torch.arange(B, device=device)[:, None] * K + origin).flatten()
        states = scorer.reorder(states, index)
        prev = tokens.flatten()
    out = []
    for b in range(B):
        pool = finished[b] or [(scores[b, k].item() / max(1, len(seqs[b][k])), seqs[b][k]) for k in range(K)]
        distinct = {}
        for score, seq in sorted(pool, key=lambda f: -f[0]):
            distinct.setdefault(tuple(seq), seq)
        out.append(list(distinct.values()))
    return out


def decode(scorer: ModelScorer, motion, mask, beam: int = 2, max_len: int = 30, no_repeat: int = 0,
           cached: dict | None = None) -> list[list[int]]:
    """beam <= 1: greedy; otherwise beam search. ``no_repeat`` = n > 0 blocks repeated n-grams (off by
    default). ``cached``: a frozen lexical backbone's precomputed outputs (``pad_memory``)."""
    if beam <= 1:
        return greedy(scorer, motion, mask, max_len, no_repeat, cached)
    return beam_search(scorer, motion, mask, beam, max_len, no_repeat, cached)

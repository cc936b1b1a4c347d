"""Lexically guided decoding: the motion's top lexical words steer the caption.

A lexical motion vector (the captioner's own frozen backbone, or any lexical retrieval
checkpoint given as ``--guide-model``) names its clip's words over the WordPiece vocabulary.
Its top ``top`` pieces are matched to the caption vocabulary by Snowball stem (``walks`` in
the vector lifts ``walk``, ``walking`` and ``walks``); each caption word gets the largest
matched weight divided by the clip's largest weight, a bonus b_w in [0, 1]. Function words
(``captioning/data/word_rules.json``) never get one. At every decoding step

    log p'(w) = log_softmax(log p(w) + lambda * b_w)

and a word's bonus is spent once the hypothesis has said it, so a guided word is not repeated
for its bonus. lambda = 0 is plain decoding. The same matching measures how many of a
caption's content words are among its motion's top words (``word_use``).
"""
from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F

from captioning.encoders import TOP_WORDS as CACHED_TOP
from captioning.rules import load_rules, stem
from captioning.text import SPECIALS, Vocabulary
from lexmotion.models.vocabulary import is_whole_word

TOP_WORDS = 20


class LexicalGuide:
    """Maps a lexical vector's top WordPieces onto caption-vocabulary ids."""

    def __init__(self, tokenizer, vocab: Vocabulary, top: int = TOP_WORDS):
        self.tokenizer, self.vocab, self.top = tokenizer, vocab, top
        function = load_rules()["function"]
        self.by_stem: dict[str, list[int]] = {}
        for i, w in enumerate(vocab.itos):
            if i >= len(SPECIALS) and stem(w) not in function:
                self.by_stem.setdefault(stem(w), []).append(i)
        self._words = lru_cache(maxsize=None)(self._caption_ids)

    def _caption_ids(self, piece_id: int) -> tuple[int, ...]:
        token = self.tokenizer.convert_ids_to_tokens(piece_id)
        if not is_whole_word(token) or not token.isalpha():
            return ()
        return tuple(self.by_stem.get(stem(token), ()))

    def top_pieces(self, lexical: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, V) weights -> the top ``top`` piece ids and weights of each row."""
        top = lexical.float().topk(min(self.top, lexical.shape[1]), dim=1)
        return top.indices, top.values

    def bonus(self, ids: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """(B, K) top piece ids and weights (largest first) -> (B, caption vocabulary) bonuses in [0, 1]."""
        ids, weights = ids[:, :self.top].cpu(), weights[:, :self.top].float().cpu()
        out = torch.zeros(len(ids), len(self.vocab))
        scale = weights.max(dim=1).values.clamp(min=1e-9)
        for b in range(len(ids)):
            for i, w in zip(ids[b].tolist(), (weights[b] / scale[b]).tolist()):
                if w <= 0:
                    break
                for c in self._words(i):
                    out[b, c] = max(out[b, c].item(), w)
        return out

    def stems(self, ids: torch.Tensor, weights: torch.Tensor) -> list[set[str]]:
        """Per row, the stems of its top pieces with a positive weight (whole words only)."""
        out = []
        for row_ids, row_w in zip(ids[:, :self.top].tolist(), weights[:, :self.top].tolist()):
            tokens = self.tokenizer.convert_ids_to_tokens([i for i, w in zip(row_ids, row_w) if w > 0])
            out.append({stem(t) for t in tokens if t.isalpha()})
        return out


def content_words(caption: str) -> list[str]:
    """A caption's words minus the function words of the word rules."""
    from captioning.text import words
    function = load_rules()["function"]
    return [w for w in words(caption) if stem(w) not in function]


def word_use(captions: list[str], top_stems: list[set[str]]) -> dict:
    """How much of each caption is the motion's own words: the share of all content words whose stem
    is among the motion's top words, and the share of captions with at least one such word."""
    hits = total = any_hit = 0
    for caption, stems in zip(captions, top_stems):
        found = [stem(w) in stems for w in content_words(caption)]
        hits, total, any_hit = hits + sum(found), total + len(found), any_hit + any(found)
    return {"content_words_in_top": round(hits / max(1, total), 3),
            "captions_with_a_top_word": round(any_hit / max(1, len(captions)), 3)}


def lexical_memory(memory: dict) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The top lexical pieces held in an encoder memory: cached (top_ids, top_weights), or the dense vector."""
    if "top_ids" in memory:
        return memory["top_ids"], memory["top_weights"]
    if memory.get("lexical") is not None:
        top = memory["lexical"].float().topk(min(CACHED_TOP, memory["lexical"].shape[1]), dim=1)
        return top.indices, top.values
    return None


class GuidedScorer:
    """Wraps a scorer (one captioner or a synergy pair); adds lambda * bonus to its next-word
    log-probabilities and renormalises. ``source(motion, mask, cached, states)`` gives the top
    lexical pieces of each clip; the last batch's are kept in ``last_top`` (for reporting)."""

    def __init__(self, inner, guide: LexicalGuide, weight: float, source, name: str = ""):
        self.inner, self.guide, self.weight, self.source, self.name = inner, guide, weight, source, name
        self.models, self.vocab = inner.models, inner.vocab
        self.last_top = None

    def start(self, motion, mask, cached=None) -> dict:
        states = self.inner.start(motion, mask, cached)
        ids, weights = self.source(motion, mask, cached, states)
        self.last_top = (ids, weights)
        return {"inner": states, "bonus": self.guide.bonus(ids, weights).to(motion.device)}

    def reorder(self, states: dict, index: torch.Tensor) -> dict:
        return {"inner": self.inner.reorder(states["inner"], index), "bonus": states["bonus"].index_select(0, index)}

    def step(self, prev, states: dict):
        bonus = states["bonus"].scatter(1, prev[:, None], 0.0)        # a word said loses its bonus
        lp, inner = self.inner.step(prev, states["inner"])
        return F.log_softmax(lp + self.weight * bonus, dim=-1), {"inner": inner, "bonus": bonus}


def own_backbone_source(motion, mask, cached, states):
    """The top pieces of the captioner's own lexical backbone (the first model that has one)."""
    for _, memory in states:
        found = lexical_memory(memory)
        if found is not None:
            return found
    raise ValueError("no model of this scorer has a lexical backbone")


class GuideModelSource:
    """The top pieces of a separate lexical checkpoint, run window by window over the captioner's
    features (renormalised from the captioner's statistics to the checkpoint's)."""

    def __init__(self, lexmotion_model, captioner_stats: dict):
        from captioning.encoders import LexicalEncoder
        self.encoder = LexicalEncoder(lexmotion_model).eval()
        ours, theirs = captioner_stats, lexmotion_model.stats
        self.scale = torch.tensor(ours["std"]) / torch.tensor(theirs["std"])
        self.shift = (torch.tensor(ours["mean"]) - torch.tensor(theirs["mean"])) / torch.tensor(theirs["std"])

    @torch.no_grad()
    def __call__(self, motion, mask, cached, states):
        x = (motion * self.scale.to(motion) + self.shift.to(motion)) * mask[..., None]
        lexical = self.encoder.to(motion.device).read(x, mask)["lexical"]
        top = lexical.float().topk(min(CACHED_TOP, lexical.shape[1]), dim=1)
        return top.indices, top.values

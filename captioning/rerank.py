"""Consensus reranking: keep the caption that the motion's retrieval neighbours agree with.

For each motion, a retrieval checkpoint (lexical or dense) ranks the distinct training
captions; its first ``k`` are the motion's neighbours. The candidates are the captioner's
beam hypotheses plus those ``k`` captions. Each candidate is scored by CIDEr-D against the
neighbours (a candidate that is itself a neighbour against the other ``k - 1``), with document
frequencies from the training captions (``CiderD``), and the best one is kept. This is minimum Bayes
risk decoding with the neighbours standing in for the unknown references, after the consensus
nearest-neighbour captioner of Devlin et al. (2015), with the generated sentences competing.

``Neighbours`` reads the captioner's own features: they are renormalised from the
captioner's statistics to the checkpoint's, and each clip is centre-cropped to the
checkpoint's ``max_frames``, as retrieval evaluation crops it.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import torch

from captioning.baseline import caption_pool, check_matches_data, ranked
from captioning.text import normalise_caption
from lexmotion.errors import LexmotionError


class Neighbours:
    """The ``k`` training captions a retrieval checkpoint ranks first for each motion."""

    def __init__(self, model, data, captioner_stats: dict, k: int, pool_split: str = "train", name: str = "",
                 pool_indices: list[int] | None = None):
        check_matches_data(model, data, name or "retrieval checkpoint")
        self.model, self.k, self.name = model.eval(), k, name
        self.pool, self.text = caption_pool(model, data, pool_split, pool_indices)
        ours, theirs = captioner_stats, model.stats
        self.scale = torch.tensor(ours["std"]) / torch.tensor(theirs["std"])
        self.shift = (torch.tensor(ours["mean"]) - torch.tensor(theirs["mean"])) / torch.tensor(theirs["std"])

    def _crop(self, motion: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each clip's valid frames, centre-cropped to the checkpoint's ``max_frames``, left-aligned."""
        limit = self.model.config.motion.max_frames
        lengths = mask.sum(1).tolist()
        T = min(limit, max(lengths))
        out = motion.new_zeros(len(motion), T, motion.shape[-1])
        keep = torch.zeros(len(motion), T, dtype=torch.bool, device=motion.device)
        for b, n in enumerate(lengths):
            start, n_kept = max(0, (n - limit) // 2), min(n, limit)
            frames = motion[b][mask[b]]
            out[b, :n_kept], keep[b, :n_kept] = frames[start:start + n_kept], True
        return out, keep

    @torch.no_grad()
    def __call__(self, motion: torch.Tensor, mask: torch.Tensor) -> list[list[str]]:
        device = self.model.device
        x = motion.to(device) * self.scale.to(device) + self.shift.to(device)
        x, keep = self._crop(x, mask.to(device))
        vectors = torch.nn.functional.normalize(self.model.motion_vectors(x, keep).float(), dim=-1)
        return ranked(self.pool, vectors @ self.text.to(device).T, self.k)


class CiderD:
    """CIDEr-D (Vedantam et al. 2015, as pycocoevalcap computes it: n = 1..4, raw n-gram counts times
    idf, clipped, a Gaussian length penalty with sigma 6, x10) with document frequencies from a fixed
    corpus (each of ``documents`` one document), so a clip's score does not depend on which other
    clips are scored with it, and a single clip scores like a split."""

    def __init__(self, documents: list[str], n: int = 4, sigma: float = 6.0):
        self.n, self.sigma = n, sigma
        self.df = Counter(g for d in documents for g in set(self._grams(normalise_caption(d))))
        self.log_docs = float(np.log(max(1, len(documents))))

    def _grams(self, text: str) -> list[tuple]:
        w = text.split()
        return [tuple(w[i:i + k]) for k in range(1, self.n + 1) for i in range(len(w) - k + 1)]

    def _vector(self, text: str) -> tuple[list[dict], list[float], int]:
        vec = [{} for _ in range(self.n)]
        for g, tf in Counter(self._grams(text)).items():
            vec[len(g) - 1][g] = tf * (self.log_docs - float(np.log(max(1.0, self.df.get(g, 0)))))
        norms = [float(np.sqrt(sum(v * v for v in d.values()))) for d in vec]
        return vec, norms, len(text.split())

    def score(self, candidate: str, references: list[str]) -> float:
        return self.score_vectors(self.vector(candidate), [self.vector(r) for r in references])

    def vector(self, text: str):
        """A caption's tf-idf n-gram vectors, their norms and its length (for ``score_vectors``)."""
        return self._vector(normalise_caption(text))

    def score_vectors(self, cand, references: list) -> float:
        total = 0.0
        for r in references:
            sims = []
            for k in range(self.n):
                dot = sum(min(v, r[0][k].get(g, 0.0)) * r[0][k].get(g, 0.0) for g, v in cand[0][k].items())
                norm = cand[1][k] * r[1][k]
                sims.append(dot / norm if norm else 0.0)
            total += float(np.mean(sims)) * np.exp(-((cand[2] - r[2]) ** 2) / (2 * self.sigma ** 2))
        return 10.0 * total / max(1, len(references))


def consensus_choice(candidates: list[list[str]], neighbours: list[list[str]], cider: CiderD) -> list[int]:
    """Per clip, the index of the candidate with the highest CIDEr-D against that clip's neighbours
    (itself left out of them when it is one); ties go to the earlier candidate."""
    out = []
    for cands, refs in zip(candidates, neighbours):
        refs = [normalise_caption(r) for r in refs]
        vectors = {r: cider.vector(r) for r in refs}
        scores = []
        for c in cands:
            c = normalise_caption(c)
            others = list(refs)
            if c in others:
                others.remove(c)
            scores.append(cider.score_vectors(vectors.get(c) or cider.vector(c), [vectors[r] for r in others])
                          if others else 0.0)
        out.append(int(np.argmax(scores)))
    return out


class ConsensusReranker:
    """Chooses, per clip, among the captioner's hypotheses and the clip's neighbours."""

    def __init__(self, neighbours: Neighbours):
        self.neighbours = neighbours
        self.cider = CiderD(neighbours.pool)

    def choose(self, motion, mask, hypotheses: list[list[str]]) -> list[dict]:
        """-> per clip {"caption", "source": "captioner" or "training caption", "rank"} (rank: the
        chosen hypothesis's place in the beam, or the neighbour's place in the retrieval ranking)."""
        near = self.neighbours(motion, mask)
        candidates = [list(h) + [n for n in ns if n not in h] for h, ns in zip(hypotheses, near)]
        out = []
        for h, ns, cands, a in zip(hypotheses, near, candidates, consensus_choice(candidates, near, self.cider)):
            if a < len(h):
                out.append({"caption": cands[a], "source": "captioner", "rank": a})
            else:
                out.append({"caption": cands[a], "source": "training caption", "rank": ns.index(cands[a])})
        return out


def make_reranker(model, data, k: int, rerank_model: str | None, device,
                  pool: list[int] | None = None) -> ConsensusReranker:
    """The reranker of a captioner: neighbours from ``rerank_model``, or else from the captioner's own
    lexical backbone checkpoint (the folder it was trained on), among the training captions (or
    those of the rows ``pool``)."""
    from lexmotion.models.checkpoint import load
    path = rerank_model or _backbone_path(model)
    if path is None:
        raise LexmotionError(f"{model.path}: --rerank needs a retrieval checkpoint: this captioner has no lexical "
                             f"backbone to take its neighbours from, so name one with --rerank-model")
    if k < 1:
        raise LexmotionError(f"--rerank: the number of neighbours must be at least 1, not {k}")
    return ConsensusReranker(Neighbours(load(path, device), data, model.stats, k, name=path, pool_indices=pool))


def _backbone_path(model) -> str | None:
    encoder = model.config.encoder
    return encoder.split(":", 1)[1] if encoder.startswith("lexical:") else None

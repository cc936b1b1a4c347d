"""Consensus reranking: keep the caption that the motion's retrieval neighbours agree with.

For each motion, a retrieval checkpoint (lexical or dense) ranks the distinct training
captions; its first ``k`` are the motion's neighbours. The candidates are the captioner's
beam hypotheses plus those ``k`` captions. Each candidate is scored by CIDEr-D against the
neighbours (a candidate that is itself a neighbour against the other ``k - 1``), with document
frequencies from the training captions (``captioning.consensus``), and the best one is kept.
This is minimum Bayes risk decoding with the neighbours standing in for the unknown references,
after the consensus nearest-neighbour captioner of Devlin et al. (2015), with the generated
sentences competing.

``Neighbours`` reads the captioner's own features: they are renormalised from the
captioner's statistics to the checkpoint's, and each clip is centre-cropped to the
checkpoint's ``max_frames``, as retrieval evaluation crops it.
"""
from __future__ import annotations

import torch

from captioning.baseline import caption_pool, check_matches_data, ranked
from captioning.consensus import CiderD, consensus_choice
from lexmotion.errors import LexmotionError

DEFAULT_NEIGHBOURS = 20     # K nearest training captions: chosen on the captioners' selection set (docs/results/captioning.md)


class Neighbours:
    """The ``k`` training captions a retrieval checkpoint ranks first for each motion."""

    def __init__(self, model, data, captioner_stats: dict, k: int, pool_split: str = "train", name: str = "",
                 pool_indices: list[int] | None = None):
        check_matches_data(model, data, name or "retrieval checkpoint", motions=False)   # only its captions are read
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

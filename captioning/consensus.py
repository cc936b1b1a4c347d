"""Consensus among captions: CIDEr-D with fixed document frequencies, and the choice, per clip,
of the candidate caption its neighbours agree with most (``captioning.rerank`` uses it with a
captioner's hypotheses, ``captioning.baseline`` with the neighbours alone)."""
from __future__ import annotations

from collections import Counter

import numpy as np

from captioning.text import normalise_caption


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

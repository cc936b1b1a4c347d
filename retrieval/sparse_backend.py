"""The ``sparse`` backend: an exact inverted index, a scipy CSR matrix of (vocabulary, items), so a
query reads only its own words' rows."""
from __future__ import annotations

import numpy as np

from retrieval.backend import Backend


class SparseExact(Backend):
    name = "sparse"
    sparse_only = True

    def __init__(self, by_word):
        self.by_word = by_word            # (V, N) CSR

    @classmethod
    def build(cls, vectors, progress: bool = False) -> "SparseExact":
        return cls(vectors.T.tocsr())

    def search(self, queries, k, allowed=None):
        import scipy.sparse as sp
        scores = np.asarray((sp.csr_matrix(queries.astype(np.float32)) @ self.by_word).todense())
        if allowed is not None:
            scores[:, ~allowed] = -np.inf
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(scores, top, axis=1), top

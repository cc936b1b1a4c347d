"""How an index scores its items: one interface, one module per backend, a registry by name.

Every backend receives the collection's vectors L2-normalised (rows of a scipy CSR matrix for lexical
models, a dense array for dense ones) and queries normalised the same way, so each ranks by cosine.
A backend builds from those vectors, searches (keyword constraints arrive as an ``allowed`` mask),
saves its own file beside the index's vectors (or is rebuilt from them on load), moves to a device
and takes its recall/speed parameters. Backends import their libraries (FAISS, numba, seismic)
only when used, so the core install lists every name.
"""
from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np

from lexmotion.errors import BadValueError, LexmotionError

# name -> (module, class): imported on first use
_REGISTRY = {
    "faiss": ("retrieval.faiss_backend", "FaissFlat"),
    "faiss-ivf": ("retrieval.faiss_backend", "FaissIVF"),
    "faiss-hnsw": ("retrieval.faiss_backend", "FaissHNSW"),
    "sparse": ("retrieval.sparse_backend", "SparseExact"),
    "sparse-ivf": ("retrieval.sparse_ivf", "SparseIVFBackend"),
    "seismic": ("retrieval.seismic_backend", "SeismicBackend"),
    "torch": ("retrieval.torch_backend", "TorchBackend"),
}
BACKENDS = tuple(_REGISTRY)


def backend_class(name: str) -> type["Backend"]:
    if name not in _REGISTRY:
        raise LexmotionError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    module, cls = _REGISTRY[name]
    return getattr(importlib.import_module(module), cls)


def active_columns(vectors) -> np.ndarray:
    """The vocabulary columns some item uses (the others add 0 to every score); every column of dense vectors."""
    if hasattr(vectors, "getnnz"):
        return np.flatnonzero(vectors.getnnz(axis=0) > 0)
    return np.arange(vectors.shape[1])


class Backend:
    name = ""
    sparse_only = False         # needs lexical (sparse) vectors
    constraints = True          # applies keyword constraints inside its search
    file: str | None = None     # what it saves beside vectors.npz; None: rebuilt from the vectors on load
    label = "index"             # what its file is called in a message

    @classmethod
    def check(cls, lexical: bool) -> None:
        """Refuse, before any encoding, what this backend cannot index (and a missing library)."""
        if cls.sparse_only and not lexical:
            raise LexmotionError(f"a dense model is indexed with --backend faiss or torch, not {cls.name}")

    @classmethod
    def build(cls, vectors, progress: bool = False) -> "Backend":
        raise NotImplementedError

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(Q, V) normalised queries -> (Q, k) scores and item rows, best first; -inf / -1 where fewer."""
        raise NotImplementedError

    def save(self, folder: Path) -> None:
        """Write ``self.file`` into FOLDER (atomically); backends rebuilt on load write nothing."""

    @classmethod
    def load(cls, folder: Path, vectors) -> "Backend":
        return cls.build(vectors)

    def to(self, device: str) -> "Backend":
        return self               # CPU backends stay where they are

    def set_parameters(self, nprobe: int | None = None, ef_search: int | None = None) -> None:
        if nprobe is not None:
            raise BadValueError(f"--nprobe applies to sparse-ivf and faiss-ivf indexes, not {self.name}")
        if ef_search is not None:
            raise BadValueError(f"--ef-search applies to faiss-hnsw indexes, not {self.name}")


class ColumnBackend(Backend):
    """A backend over dense rows of the active columns only (FAISS, torch): exact, since a query word
    that no item uses adds 0 to every score."""

    def __init__(self, columns: np.ndarray):
        self.columns = columns

    @staticmethod
    def dense_rows(vectors, columns: np.ndarray) -> np.ndarray:
        sub = vectors[:, columns]
        return np.ascontiguousarray(sub.toarray() if hasattr(sub, "toarray") else sub, dtype=np.float32)

    def query_rows(self, queries: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(queries[:, self.columns]).astype(np.float32)

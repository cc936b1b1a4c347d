"""FAISS, imported lazily: faiss-cpu ([cpu]) and faiss-gpu-cu12 ([gpu]) cannot share an
environment, and the core install has neither."""
from __future__ import annotations

import numpy as np

from lexmotion.errors import LexmotionError


def import_faiss():
    try:
        import faiss
    except ImportError:
        raise LexmotionError("FAISS is not installed: pip install 'lexmotion[cpu]' (faiss-cpu) or "
                             "'lexmotion[gpu]' (faiss-gpu-cu12); or use --backend sparse or torch") from None
    return faiss


def search_parameters(engine, backend: str, allowed: np.ndarray):
    """FAISS search parameters that keep only the ``allowed`` ids (keyword constraints), with the
    index's own nprobe (faiss-ivf) or efSearch (faiss-hnsw)."""
    faiss = import_faiss()
    selector = faiss.IDSelectorBatch(np.flatnonzero(allowed).astype(np.int64))
    if backend == "faiss-ivf":
        return faiss.SearchParametersIVF(sel=selector, nprobe=engine.nprobe)
    if backend == "faiss-hnsw":
        return faiss.SearchParametersHNSW(sel=selector, efSearch=engine.hnsw.efSearch)
    return faiss.SearchParameters(sel=selector)

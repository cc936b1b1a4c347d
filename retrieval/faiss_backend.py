"""The FAISS backends (faiss: exact flat; faiss-ivf; faiss-hnsw), over the active vocabulary columns.

FAISS is imported lazily: faiss-cpu ([cpu]) and faiss-gpu-cu12 ([gpu]) cannot share an
environment, and the core install has neither."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lexmotion.errors import LexmotionError
from lexmotion.files import atomic_save
from retrieval.backend import ColumnBackend, active_columns


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


class FaissBackend(ColumnBackend):
    """FAISS over the active columns, by inner product; the three kinds differ in how they are made."""
    file, label = "faiss.index", "FAISS index"

    def __init__(self, columns, engine):
        super().__init__(columns)
        self.engine = engine

    @classmethod
    def check(cls, lexical: bool) -> None:
        import_faiss()              # a missing FAISS is said before the encoding, not after
        if not lexical and cls.name != "faiss":
            raise LexmotionError(f"a dense model is indexed with --backend faiss or torch, not {cls.name}")

    @classmethod
    def make(cls, faiss, rows: np.ndarray):
        raise NotImplementedError

    @classmethod
    def build(cls, vectors, progress: bool = False) -> "FaissBackend":
        columns = active_columns(vectors)
        rows = cls.dense_rows(vectors, columns)
        if rows.shape[1] == 0 and cls.name != "faiss":      # FAISS's IVF / HNSW training dies (SIGFPE) on 0 dimensions
            raise LexmotionError(f"every vector to index is empty (the model puts no word on them), so {cls.name} "
                                 "cannot cluster them; train the model further or use --backend faiss")
        engine = cls.make(import_faiss(), rows)
        engine.add(rows)
        return cls(columns, engine)

    def search(self, queries, k, allowed=None):
        rows = self.query_rows(queries)
        if allowed is None:
            return self.engine.search(rows, k)
        return self.engine.search(rows, k, params=search_parameters(self.engine, self.name, allowed))

    def save(self, folder: Path) -> None:
        atomic_save(folder / self.file, lambda f: import_faiss().write_index(self.engine, str(f)))

    @classmethod
    def load(cls, folder: Path, vectors) -> "FaissBackend":
        engine = import_faiss().read_index(str(folder / cls.file))
        columns = active_columns(vectors)
        if engine.ntotal != vectors.shape[0] or engine.d != len(columns):
            raise ValueError(f"it holds {engine.ntotal} vectors of {engine.d} dimensions, not the index's "
                             f"{vectors.shape[0]} of {len(columns)}")
        return cls(columns, engine)

    def to(self, device: str) -> "FaissBackend":
        """With faiss-gpu installed, the index moves to the GPU (``cuda`` or ``cuda:N``)."""
        if not str(device).startswith("cuda"):
            return self
        faiss = import_faiss()
        if not hasattr(faiss, "StandardGpuResources"):
            raise LexmotionError("--device cuda with a FAISS index needs faiss-gpu: pip install 'lexmotion[gpu]' "
                                 "(in an environment without faiss-cpu), or build the index with --backend torch")
        gpu = int(str(device).split(":")[1]) if ":" in str(device) else 0
        self.resources = faiss.StandardGpuResources()
        self.engine = faiss.index_cpu_to_gpu(self.resources, gpu, self.engine)
        return self


class FaissFlat(FaissBackend):
    name = "faiss"

    @classmethod
    def make(cls, faiss, rows):
        return faiss.IndexFlatIP(rows.shape[1])


class FaissIVF(FaissBackend):
    name = "faiss-ivf"

    @classmethod
    def make(cls, faiss, rows):
        n, d = rows.shape
        nlist = max(1, min(int(4 * np.sqrt(n)), n // 39 or 1))
        engine = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
        engine.train(rows)
        engine.nprobe = min(nlist, 16)
        return engine

    def set_parameters(self, nprobe=None, ef_search=None) -> None:
        super().set_parameters(None, ef_search)
        if nprobe is not None:
            self.engine.nprobe = nprobe


class FaissHNSW(FaissBackend):
    name = "faiss-hnsw"

    @classmethod
    def make(cls, faiss, rows):
        engine = faiss.IndexHNSWFlat(rows.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
        engine.hnsw.efConstruction = 80
        engine.hnsw.efSearch = 128
        return engine

    def set_parameters(self, nprobe=None, ef_search=None) -> None:
        super().set_parameters(nprobe, None)
        if ef_search is not None:
            self.engine.hnsw.efSearch = ef_search

    def to(self, device: str) -> "FaissHNSW":
        if str(device).startswith("cuda"):
            raise LexmotionError("FAISS has no GPU HNSW index: use --backend faiss or faiss-ivf on the GPU")
        return self

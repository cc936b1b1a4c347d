"""The ``seismic`` backend: an approximate inverted index for learned sparse vectors
(pyseismic-lsr, Bruch et al., SIGIR 2024), imported lazily.

Documents and queries are handed over as (vocabulary column as a string, weight)
pairs; ids are row numbers. Search parameters: ``query_cut`` (how many of the
query's largest weights are used to visit posting lists) and ``heap_factor``
(how aggressively blocks are skipped: 1.0 skips least). Build parameters:
``n_postings`` (posting-list length kept per word before clustering into blocks).
"""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from lexmotion.errors import LexmotionError
from retrieval.backend import Backend

DEFAULTS = {"n_postings": 4000, "centroid_fraction": 0.1, "summary_energy": 0.4, "query_cut": 40, "heap_factor": 0.9}


@contextmanager
def _captured_stdout(path: str = os.devnull):
    """Seismic's Rust code prints on file descriptor 1; send that to ``path`` instead of the user."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(path, "w") as sink:
        os.dup2(sink.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def memory_bytes(index) -> int:
    """The index's total size as seismic reports it (forward index + posting lists + summaries)."""
    import tempfile
    with tempfile.NamedTemporaryFile("r", suffix=".txt") as report:
        with _captured_stdout(report.name):
            index.print_space_usage_byte()
        for line in open(report.name):
            if line.strip().startswith("Total:"):
                return int(line.split()[1])
    return -1


def import_seismic():
    try:
        import seismic
    except ImportError:
        raise LexmotionError("the seismic backend needs pyseismic-lsr: pip install 'lexmotion[seismic]'") from None
    return seismic


def _token_strings(columns: np.ndarray, dtype) -> np.ndarray:
    return columns.astype(str).astype(dtype)


def build(matrix, n_postings: int = DEFAULTS["n_postings"], centroid_fraction: float = DEFAULTS["centroid_fraction"],
          summary_energy: float = DEFAULTS["summary_energy"], threads: int = 0):
    """matrix: (N, V) scipy CSR of normalised vectors -> a SeismicIndex."""
    seismic = import_seismic()
    dtype = seismic.get_seismic_string()
    dataset = seismic.SeismicDataset()
    for row in range(matrix.shape[0]):
        s, e = matrix.indptr[row], matrix.indptr[row + 1]
        if e == s:       # seismic cannot hold an empty document; give it one zero-weight word
            dataset.add_document(str(row), np.array(["0"], dtype=dtype), np.zeros(1, dtype=np.float32))
            continue
        dataset.add_document(str(row), _token_strings(matrix.indices[s:e], dtype),
                             matrix.data[s:e].astype(np.float32))
    with _captured_stdout():
        return seismic.SeismicIndex.build_from_dataset(dataset, n_postings=n_postings,
                                                       centroid_fraction=centroid_fraction,
                                                       summary_energy=summary_energy, num_threads=threads)


def search(index, queries, k: int, query_cut: int = DEFAULTS["query_cut"],
           heap_factor: float = DEFAULTS["heap_factor"], threads: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """queries: (Q, V) scipy CSR -> (Q, k) scores and row ids (-1 where fewer than k were found)."""
    seismic = import_seismic()
    dtype = seismic.get_seismic_string()
    ids, comps, vals = [], [], []
    for q in range(queries.shape[0]):
        s, e = queries.indptr[q], queries.indptr[q + 1]
        ids.append(str(q))
        comps.append(_token_strings(queries.indices[s:e], dtype))
        vals.append(queries.data[s:e].astype(np.float32))
    results = index.batch_search(queries_ids=np.array(ids, dtype=dtype), query_components=comps, query_values=vals,
                                 k=k, query_cut=query_cut, heap_factor=heap_factor, sorted=True, num_threads=threads)
    scores = np.full((len(ids), k), -np.inf, dtype=np.float32)
    top = np.full((len(ids), k), -1, dtype=np.int64)
    for hits in results:                    # results are not necessarily in query order
        for j, (query, score, doc) in enumerate(hits[:k]):
            scores[int(query), j], top[int(query), j] = score, int(doc)
    return scores, top


class SeismicBackend(Backend):
    """The ``seismic`` backend of an index (approximate; no keyword constraints)."""
    name = "seismic"
    sparse_only = True
    constraints = False
    file, label = "seismic.index.seismic", "seismic index"

    def __init__(self, engine):
        self.engine = engine

    @classmethod
    def check(cls, lexical: bool) -> None:
        super().check(lexical)
        import_seismic()

    @classmethod
    def build(cls, vectors, progress: bool = False) -> "SeismicBackend":
        return cls(build(vectors))

    def search(self, queries, k, allowed=None):
        import scipy.sparse as sp
        return search(self.engine, sp.csr_matrix(queries.astype(np.float32)), k)

    def save(self, folder: Path) -> None:
        self.engine.save(str(folder / "seismic"))          # seismic appends its own suffix

    @classmethod
    def load(cls, folder: Path, vectors) -> "SeismicBackend":
        return cls(import_seismic().SeismicIndex.load(str(folder / cls.file)))

"""The ``sparse-ivf`` backend: a clustered (IVF) index over sparse lexical vectors.

Build: the collection's vectors are projected to a few dense dimensions (a fixed
Gaussian random projection of the active vocabulary, which keeps inner products
in expectation) and clustered with FAISS spherical k-means. The documents are then
stored cluster by cluster as one CSR matrix over the active vocabulary, and each
cluster gets its exact sparse centroid (the mean of its members' vectors).

Search, per query: score every centroid with the sparse query, visit the
``nprobe`` best clusters, and score each of their documents *exactly* (full
sparse dot product); keep the top k.
The approximation is only in which clusters are visited: raise ``nprobe`` for
recall, lower it for speed. The kernels are compiled with numba and run one
query per thread.
"""
from __future__ import annotations

import functools
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from lexmotion.errors import LexmotionError
from retrieval.backend import Backend

FILE = "sparse_ivf.npz"


@dataclass
class SparseIVFConfig:
    nlist: int = 0            # clusters; 0: about 8 sqrt(N)
    dim: int = 128            # random-projection width used for clustering only
    niter: int = 15           # k-means iterations
    train_per_cluster: int = 39   # k-means training sample: this many points per cluster (39 at least)
    nprobe: int = 256         # clusters visited per query (why: docs/results/retrieval-scale.md)
    seed: int = 0

    def clusters_for(self, n: int) -> int:
        """The clusters used for n vectors: ``nlist``, or about 8 sqrt(n) with at least 39 vectors each.

        8 sqrt(n) (8,000 at 1M) rather than FAISS's usual 4 sqrt(n): smaller clusters let a query
        visit the same number of vectors in more, better-matched clusters (at 1M, 0.9905 against
        0.988 recall@10 for ~32k vectors scored on the scale benchmark's blends collection)."""
        return max(1, min(n, self.nlist or min(int(8 * np.sqrt(n)), n // 39)))


def _numba():
    try:
        import numba
    except ImportError:
        raise LexmotionError("the sparse-ivf backend needs the [numba] extra: pip install 'lexmotion[numba]'") from None
    return numba


@functools.cache
def _search_kernel():
    """The search kernel, compiled once per process (and cached on disk by numba where it can)."""
    numba = _numba()

    @numba.njit(parallel=True, cache=True, nogil=True)
    def search(q_indptr, q_indices, q_data, col_map, ct_indptr, ct_clusters, ct_values, starts,
               indptr, indices, data, order, n_active, k, nprobe, allowed, out_scores, out_ids):
        n_queries = len(q_indptr) - 1
        nlist = len(starts) - 1
        for qi in numba.prange(n_queries):
            qd = np.zeros(n_active, dtype=np.float32)
            s, e = q_indptr[qi], q_indptr[qi + 1]
            cs = np.zeros(nlist, dtype=np.float32)
            for p in range(s, e):      # the query on the active vocabulary, and the centroid scores
                a = col_map[q_indices[p]]
                if a >= 0:
                    w = q_data[p]
                    qd[a] += w
                    for c in range(ct_indptr[a], ct_indptr[a + 1]):
                        cs[ct_clusters[c]] += w * ct_values[c]
            probes = np.argsort(-cs)
            # exact scores of the visited clusters' allowed documents, keeping the best k; under
            # keyword constraints, clusters beyond nprobe are visited until k allowed ones are found
            best_s = np.full(k, -np.inf, dtype=np.float32)
            best_i = np.full(k, -1, dtype=np.int64)
            worst = 0
            found = 0
            for visited in range(nlist):
                if visited >= nprobe and found >= k:
                    break
                c = probes[visited]
                for row in range(starts[c], starts[c + 1]):
                    if not allowed[order[row]]:
                        continue
                    found += 1
                    score = np.float32(0.0)
                    for p in range(indptr[row], indptr[row + 1]):
                        score += qd[indices[p]] * data[p]
                    if score > best_s[worst]:
                        best_s[worst] = score
                        best_i[worst] = order[row]
                        for j in range(k):
                            if best_s[j] < best_s[worst]:
                                worst = j
            rank = np.argsort(-best_s)
            for j in range(k):
                out_scores[qi, j] = best_s[rank[j]]
                out_ids[qi, j] = best_i[rank[j]]

    return search


class SparseIVF:
    """A clustered index of (N, V) sparse vectors; see the module docstring."""

    def __init__(self, config: SparseIVFConfig, columns, starts, indptr, indices, data, order,
                 ct_indptr, ct_clusters, ct_values, vocab_size: int):
        self.config = config
        self.columns, self.starts, self.order = columns, starts, order
        self.indptr, self.indices, self.data = indptr, indices, data
        self.ct_indptr, self.ct_clusters, self.ct_values = ct_indptr, ct_clusters, ct_values
        self.vocab_size = vocab_size
        self.col_map = np.full(vocab_size, -1, dtype=np.int64)
        self.col_map[columns] = np.arange(len(columns))

    @property
    def nlist(self) -> int:
        return len(self.starts) - 1

    @classmethod
    def build(cls, matrix, config: SparseIVFConfig | None = None, progress: bool = False) -> "SparseIVF":
        """matrix: (N, V) scipy CSR of L2-normalised vectors."""
        import scipy.sparse as sp

        from retrieval.faiss_backend import import_faiss
        faiss = import_faiss()
        config = config or SparseIVFConfig()
        matrix = sp.csr_matrix(matrix, dtype=np.float32, copy=True)   # a copy: the caller's arrays stay as they were
        matrix.sum_duplicates()
        n, vocab_size = matrix.shape
        if n == 0:
            raise LexmotionError("cannot index an empty collection")
        columns = np.flatnonzero(matrix.getnnz(axis=0) > 0)
        x = matrix[:, columns].tocsr()
        nlist = config.clusters_for(n)
        rng = np.random.default_rng(config.seed)
        projection = (rng.standard_normal((len(columns), config.dim)) / np.sqrt(config.dim)).astype(np.float32)
        z = np.ascontiguousarray(x @ projection, dtype=np.float32)
        faiss.normalize_L2(z)
        if nlist > 1:
            per_cluster = max(config.train_per_cluster, 39)     # FAISS asks for at least 39 points per centroid
            kmeans = faiss.Kmeans(config.dim, nlist, niter=config.niter, spherical=True, seed=config.seed,
                                  max_points_per_centroid=per_cluster)
            sample = z if n <= nlist * per_cluster else z[rng.choice(n, nlist * per_cluster, replace=False)]
            if progress:
                print(f"sparse-ivf: k-means of {len(sample):,} vectors into {nlist:,} clusters "
                      f"({config.niter} iterations)...", flush=True)
            started = time.perf_counter()
            kmeans.train(sample)
            if progress:
                print(f"sparse-ivf: k-means done in {time.perf_counter() - started:.1f} s", flush=True)
            assign = kmeans.index.search(z, 1)[1].ravel()
        else:
            assign = np.zeros(n, dtype=np.int64)
        order = np.argsort(assign, kind="stable")
        counts = np.bincount(assign, minlength=nlist)
        starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        docs = x[order].tocsr()
        members = sp.csr_matrix((np.ones(n, np.float32), (assign, np.arange(n))), shape=(nlist, n))
        centroids = sp.diags(1 / np.maximum(counts, 1).astype(np.float32)) @ (members @ x)
        ct = sp.csr_matrix(centroids.T, dtype=np.float32)      # (active words, clusters)
        index_dtype = np.uint16 if len(columns) <= 1 << 16 else np.int32
        return cls(config, columns.astype(np.int64), starts, docs.indptr.astype(np.int64),
                   docs.indices.astype(index_dtype), docs.data.astype(np.float32), order.astype(np.int64),
                   ct.indptr.astype(np.int64), ct.indices.astype(np.int32), ct.data.astype(np.float32), vocab_size)

    def search(self, queries, k: int, nprobe: int | None = None, threads: int = 0,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """queries: (Q, V) scipy CSR -> (Q, k) scores and row ids, best first (-1 where fewer than k).
        ``allowed``: (N,) bool, the rows that may be returned (keyword constraints); the others are
        skipped while scoring, and more clusters are visited until k allowed rows are scored."""
        import scipy.sparse as sp
        numba = _numba()
        search = _search_kernel()
        q = sp.csr_matrix(queries, dtype=np.float32)
        if q.shape[1] != self.vocab_size:
            raise LexmotionError(f"queries have {q.shape[1]} vocabulary columns, the index {self.vocab_size}")
        nprobe = min(self.nlist, nprobe or self.config.nprobe)
        scores = np.empty((q.shape[0], k), dtype=np.float32)
        ids = np.empty((q.shape[0], k), dtype=np.int64)
        previous = numba.get_num_threads()
        if threads:
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        try:
            search(q.indptr.astype(np.int64), q.indices.astype(np.int64), q.data, self.col_map,
                   self.ct_indptr, self.ct_clusters, self.ct_values, self.starts,
                   self.indptr, self.indices, self.data, self.order, len(self.columns), k, nprobe,
                   np.ones(len(self.order), dtype=np.bool_) if allowed is None else np.asarray(allowed, dtype=np.bool_),
                   scores, ids)
        finally:
            numba.set_num_threads(previous)
        scores[ids < 0] = -np.inf
        return scores, ids

    def memory_bytes(self) -> int:
        arrays = (self.columns, self.starts, self.order, self.indptr, self.indices, self.data,
                  self.ct_indptr, self.ct_clusters, self.ct_values, self.col_map)
        return int(sum(a.nbytes for a in arrays))

    # --- saving and loading -------------------------------------------------------------
    _ARRAYS = ("columns", "starts", "indptr", "indices", "data", "order", "ct_indptr", "ct_clusters", "ct_values")

    def save(self, path: str | Path) -> None:
        with open(path, "wb") as f:
            np.savez(f, config=json.dumps(asdict(self.config)), vocab_size=self.vocab_size,
                     **{name: getattr(self, name) for name in self._ARRAYS})

    @classmethod
    def load(cls, path: str | Path) -> "SparseIVF":
        import zipfile
        try:
            with np.load(path) as z:
                config = SparseIVFConfig(**json.loads(str(z["config"])))
                return cls(config, *(z[name] for name in cls._ARRAYS), vocab_size=int(z["vocab_size"]))
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as err:
            raise LexmotionError(f"{path}: not a readable sparse-ivf index ({type(err).__name__}): "
                                 "rebuild it with `lexmotion index build --backend sparse-ivf`") from None


class SparseIVFBackend(Backend):
    """The ``sparse-ivf`` backend of an index: a SparseIVF and how many clusters a query visits."""
    name = "sparse-ivf"
    sparse_only = True
    file, label = FILE, "sparse-ivf index"

    def __init__(self, engine: SparseIVF, nprobe: int | None = None):
        self.engine, self.nprobe = engine, nprobe          # nprobe None: the index's own default

    @classmethod
    def check(cls, lexical: bool) -> None:
        super().check(lexical)
        from retrieval.faiss_backend import import_faiss
        import_faiss()                                     # its k-means, said before the encoding

    @classmethod
    def build(cls, vectors, progress: bool = False) -> "SparseIVFBackend":
        return cls(SparseIVF.build(vectors, progress=progress))

    def search(self, queries, k, allowed=None):
        import scipy.sparse as sp
        return self.engine.search(sp.csr_matrix(queries.astype(np.float32)), k, nprobe=self.nprobe, allowed=allowed)

    def save(self, folder: Path) -> None:
        from lexmotion.files import atomic_save
        atomic_save(folder / self.file, self.engine.save)

    @classmethod
    def load(cls, folder: Path, vectors) -> "SparseIVFBackend":
        return cls(SparseIVF.load(folder / cls.file))

    def set_parameters(self, nprobe=None, ef_search=None) -> None:
        super().set_parameters(None, ef_search)
        if nprobe is not None:
            self.nprobe = nprobe

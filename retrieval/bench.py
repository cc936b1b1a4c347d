"""Retrieval scale benchmark: ``python -m retrieval.bench --model CKPT --data DIR``.

Collections of 10k, 100k and 1M motion vectors are made from real encoded
vectors, by one of two recipes (--recipe):
- copies (default): each synthetic vector is a randomly chosen real motion vector
  whose non-zero weights are multiplied by log-normal noise (sigma 0.3), 10% of
  whose non-zeros are dropped, and which takes ~5% extra words (at half weight)
  from another random real vector. A 1M collection then holds ~1,300 noisy copies
  of each real vector: the true top 10 are near-ties.
- blends: each synthetic vector is a * x + (1 - a) * y for two random real
  vectors x, y and a ~ U(0.5, 0.9), with the same log-normal noise and 10% drop:
  far fewer near-duplicates, and every vector mixes two motions' words.
Queries are real captions of the dataset, encoded.
Each backend's build time, index memory, queries/s on 1 thread and on all
threads, and recall@10 against exact search are printed as a table (with --constraints, the
sparse and sparse-ivf rows again under keyword constraints, against exact constrained search); the
approximate backends (sparse-ivf, seismic, FAISS IVF) at a few search settings. Backends
whose dense (N x active words) matrix would not fit in --max-dense-gb are skipped.

With ``--windows W,S`` it measures a windowed index instead: every clip of --data (all splits) indexed
whole, as windows of W seconds every S seconds (``index build --window W --stride S``), and as segments cut
where each motion changes (``index build --segments``), each with the backends of ``--window-backends``; then
the same caption queries through what ``Index.search`` does after encoding (ranking, growing each hit into its
moment, the hits' explanations), one at a time on one thread, and each index's time per query over the
whole-clip one's.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from lexmotion.errors import LexmotionError

# (query_cut, heap_factor) settings of the seismic backend shown in the table.
SEISMIC_SETTINGS = ((5, 0.6), (10, 0.7), (20, 0.8))
# clusters visited per query by the sparse-ivf backend, shown in the table.
SPARSE_IVF_NPROBE = (64, 128, 256)


def synthesise(base, n: int, rng: np.random.Generator):
    """base: (B, V) scipy CSR of real vectors -> (n, V) CSR of perturbed resamples."""
    import scipy.sparse as sp
    picks = rng.integers(0, base.shape[0], n)
    donors = rng.integers(0, base.shape[0], n)
    rows, cols, vals = [], [], []
    for r, (p, d) in enumerate(zip(picks, donors)):
        s, e = base.indptr[p], base.indptr[p + 1]
        c, v = base.indices[s:e], base.data[s:e] * rng.lognormal(0, 0.3, e - s)
        keep = rng.random(e - s) >= 0.1
        c, v = c[keep], v[keep]
        ds, de = base.indptr[d], base.indptr[d + 1]
        extra = max(1, int(0.05 * (e - s)))
        take = rng.choice(np.arange(ds, de), size=min(extra, de - ds), replace=False) if de > ds else []
        c = np.concatenate([c, base.indices[take]])
        v = np.concatenate([v, 0.5 * base.data[take]])
        rows.append(np.full(len(c), r))
        cols.append(c)
        vals.append(v)
    m = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, base.shape[1]))
    m.sum_duplicates()
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1))).ravel()
    return sp.diags(1 / np.maximum(norms, 1e-12)) @ m


def blend(base, n: int, rng: np.random.Generator):
    """base: (B, V) scipy CSR of real vectors -> (n, V) CSR of noisy two-motion blends."""
    import scipy.sparse as sp
    a = rng.uniform(0.5, 0.9, n)
    m = sp.diags(a) @ base[rng.integers(0, base.shape[0], n)] + sp.diags(1 - a) @ base[rng.integers(0, base.shape[0], n)]
    m = sp.csr_matrix(m)
    m.data *= rng.lognormal(0, 0.3, m.nnz)
    m.data[rng.random(m.nnz) < 0.1] = 0
    m.eliminate_zeros()
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1))).ravel()
    return sp.csr_matrix(sp.diags(1 / np.maximum(norms, 1e-12)) @ m)


RECIPES = {"copies": synthesise, "blends": blend}


def exact_topk(collection, queries, k, chunk: int = 20, allowed=None):
    """(Q, k) ids of the exact top k (any order), computed for ``chunk`` queries at a time to bound memory;
    with ``allowed`` (keyword constraints) among those items only, -1 where fewer than k are allowed."""
    tops = []
    for start in range(0, queries.shape[0], chunk):
        scores = (queries[start:start + chunk] @ collection.T).toarray()
        if allowed is not None:
            scores[:, ~allowed] = -np.inf
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        tops.append(np.where(np.take_along_axis(scores, top, 1) > -np.inf, top, -1))
    return np.concatenate(tops)


def _qps(fn, queries, threads: int) -> float:
    """Queries per second of ``fn(queries, threads)`` with torch/FAISS limited to ``threads``."""
    import torch
    try:
        import faiss
        faiss.omp_set_num_threads(threads)
    except ImportError:
        pass
    torch.set_num_threads(threads)
    start = time.perf_counter()
    fn(queries, threads)
    return queries.shape[0] / (time.perf_counter() - start)


class _Bench:
    """One collection's rows: each backend built, then timed on the same queries against exact top-k."""

    def __init__(self, collection, queries, k: int, constraints=()):
        self.collection, self.queries, self.k, self.constraints = collection, queries, k, constraints
        self.n = collection.shape[0]
        self.active = np.flatnonzero(np.asarray(collection.getnnz(axis=0)) > 0)
        self.dense_bytes = self.n * len(self.active) * 4
        self.truth = exact_topk(collection, queries, k)
        self.q_dense = np.ascontiguousarray(queries[:, self.active].toarray().astype(np.float32))
        self.rows = []
        self.by_word = collection.tocsc() if constraints else None
        self.label = " ".join(map(str, constraints))
        self.truth_c = exact_topk(collection, queries, k, allowed=self.masks(queries[:1])) if constraints else None

    def masks(self, q):
        """The keyword-constraint mask, made once per query as Index.search makes it (part of the cost)."""
        from retrieval.constraints import allowed_items
        for _ in range(q.shape[0]):
            allowed = allowed_items(self.by_word, self.constraints)
        return allowed

    def record(self, name, build_s, mem, search, truth=None):
        truth = self.truth if truth is None else truth
        out = {"backend": name, "N": self.n, "build_s": round(build_s, 2), "memory_MB": round(mem / 2 ** 20, 1)}
        top = search(self.queries, os.cpu_count())
        out["recall@10"] = round(float(np.mean([len(set(a) & set(b) - {-1}) / max(len(set(b) - {-1}), 1)
                                                for a, b in zip(top, truth)])), 4)
        out["qps_1_thread"] = round(_qps(search, self.queries, 1), 1)
        out["qps_all_threads"] = round(_qps(search, self.queries, os.cpu_count()), 1)
        out["ms_per_query_all"] = round(1000 / out["qps_all_threads"], 2)
        self.rows.append(out)

    def sparse(self) -> None:
        k = self.k
        t = time.perf_counter()
        inverted = self.collection.T.tocsr()
        build = time.perf_counter() - t
        memory = inverted.data.nbytes + inverted.indices.nbytes + inverted.indptr.nbytes

        def sparse_search(q, threads, constrained=False):
            scores = np.asarray((q @ inverted).todense())
            if constrained:
                scores[:, ~self.masks(q)] = -np.inf
            return np.argpartition(-scores, k, axis=1)[:, :k]
        self.record("sparse (scipy CSR)", build, memory, sparse_search)
        if self.constraints:
            self.record(f"sparse (scipy CSR), {self.label}", build, memory,
                        lambda q, threads: sparse_search(q, threads, constrained=True), truth=self.truth_c)

    def sparse_ivf(self) -> None:
        k = self.k
        try:
            from retrieval.sparse_ivf import SparseIVF
            t = time.perf_counter()
            clustered = SparseIVF.build(self.collection)
            build = time.perf_counter() - t
            clustered.search(self.queries[:1], k)        # compile the numba kernel outside the timings
        except LexmotionError as err:
            self.rows.append({"backend": f"sparse-ivf skipped: {err}", "N": self.n})
            return
        for nprobe in SPARSE_IVF_NPROBE:
            self.record(f"sparse-ivf ({clustered.nlist} clusters, nprobe {nprobe})", build, clustered.memory_bytes(),
                        lambda q, threads, nprobe=nprobe: clustered.search(q, k, nprobe=nprobe, threads=threads)[1])
            if self.constraints:
                self.record(f"sparse-ivf ({clustered.nlist} clusters, nprobe {nprobe}), {self.label}", build,
                            clustered.memory_bytes(), lambda q, threads, nprobe=nprobe:
                            clustered.search(q, k, nprobe=nprobe, threads=threads, allowed=self.masks(q))[1],
                            truth=self.truth_c)

    def seismic(self, postings: int) -> None:
        try:
            from retrieval import seismic_backend
            t = time.perf_counter()
            engine = seismic_backend.build(self.collection, n_postings=postings)
            build, memory = time.perf_counter() - t, seismic_backend.memory_bytes(engine)
        except LexmotionError as err:
            self.rows.append({"backend": f"seismic skipped: {err}", "N": self.n})
            return
        for cut, heap in SEISMIC_SETTINGS:
            label = "" if postings == 4000 else f"n_postings {postings}, "
            self.record(f"seismic ({label}query_cut {cut}, heap {heap})", build, memory,
                        lambda q, threads, cut=cut, heap=heap:
                        seismic_backend.search(engine, q, self.k, cut, heap, threads)[1])

    def dense(self, max_dense_gb: float) -> None:
        """torch on the CPU (and the GPU when there is one), then FAISS flat and IVF."""
        import torch
        k, q_dense, n, dense_bytes = self.k, self.q_dense, self.n, self.dense_bytes
        if dense_bytes / 2 ** 30 > max_dense_gb:
            self.rows.append({"backend": f"dense backends skipped: {dense_bytes / 2 ** 30:.1f} GB > --max-dense-gb",
                              "N": n})
            return
        t = time.perf_counter()
        matrix = torch.from_numpy(np.ascontiguousarray(self.collection[:, self.active].toarray().astype(np.float32)))
        build = time.perf_counter() - t
        self.record("torch (exact, CPU)", build, dense_bytes,
                    lambda q, threads: torch.topk(torch.from_numpy(q_dense) @ matrix.T, k, dim=1).indices.numpy())
        if torch.cuda.is_available():
            gpu = matrix.cuda()
            self.record("torch (exact, GPU)", build, dense_bytes, lambda q, threads:
                        torch.topk(torch.from_numpy(q_dense).cuda() @ gpu.T, k, dim=1).indices.cpu().numpy())
        try:
            import faiss
        except ImportError:
            self.rows.append({"backend": "faiss skipped: not installed", "N": n})
            return
        x = matrix.numpy()
        d = x.shape[1]
        t = time.perf_counter()
        flat = faiss.IndexFlatIP(d)
        flat.add(x)
        self.record("faiss flat (exact)", time.perf_counter() - t, dense_bytes,
                    lambda q, threads: flat.search(q_dense, k)[1])
        t = time.perf_counter()
        nlist = max(1, int(4 * np.sqrt(n)))
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
        ivf.train(x[np.random.default_rng(0).choice(n, min(n, 50 * nlist), replace=False)])
        ivf.add(x)
        ivf.nprobe = 16
        self.record(f"faiss IVF{nlist} nprobe16", time.perf_counter() - t, dense_bytes,
                    lambda q, threads: ivf.search(q_dense, k)[1])


def run(collection, queries, max_dense_gb: float, k: int = 10, seismic_postings: int = 4000,
        constraints=()) -> list[dict]:
    """The table's rows for one collection, every backend in turn (each freed before the next is built)."""
    bench = _Bench(collection, queries, k, constraints)
    bench.sparse()
    bench.sparse_ivf()
    bench.seismic(seismic_postings)
    bench.dense(max_dense_gb)
    return bench.rows


def windows_table(model_path: str, data: str, window: float, stride: float, n_queries: int,
                  backends: list[str]) -> list[dict]:
    """Rows of the --windows table: per backend, the whole-clip, the windowed and the segment index of DATA."""
    import torch

    import lexmotion
    from lexmotion.data.dataset import MotionDataset
    from retrieval.collection import build_index
    torch.set_num_threads(1)
    model = lexmotion.load(model_path)
    ds = MotionDataset(data)
    captions = [t for texts in ds.table["texts"] for t in texts if t.strip()][:n_queries]
    queries = [model.encode_text([c]).to_dense()[0].numpy() for c in captions]
    rows = []
    for backend in backends:
        per_query = {}
        kinds = (("whole clips", {}), (f"windows {window:g} s / {stride:g} s", {"window": window, "stride": stride}),
                 ("segments", {"segments": True}))
        for name, options in kinds:
            start = time.perf_counter()
            index = build_index(model, model_path, data, "all", backend, progress=False, **options)
            build_s = time.perf_counter() - start
            index._hits(model, queries[0], 10, 5)            # warm-up; _hits is Index.search after the encoding
            start = time.perf_counter()
            for q in queries:
                index._hits(model, q, 10, 5)
            per_query[name] = (time.perf_counter() - start) / len(queries) * 1000
            rows.append({"backend": backend, "index": name, "items": len(index.items), "build_s": round(build_s, 1),
                         "ms_per_query": round(per_query[name], 2),
                         "ratio": round(per_query[name] / per_query["whole clips"], 2)})
    return rows


def collection_sizes(text: str) -> list[int]:
    """--sizes: "10k,100k,1M" or "5000,20000" -> counts (a bad one is argparse's one-line error, exit 2)."""
    sizes = []
    for item in text.split(","):
        item = item.strip()
        scale = {"k": 1_000, "K": 1_000, "M": 1_000_000}.get(item[-1:], 1)
        digits = item[:-1] if scale > 1 else item
        if not digits.isdigit() or int(digits) * scale < 1:
            raise argparse.ArgumentTypeError(f"{item!r} is not a positive count (e.g. 10k, 100k, 1M or 5000)")
        sizes.append(int(digits) * scale)
    return sizes


def main(argv=None) -> int:
    import torch

    import lexmotion
    from lexmotion.data.batching import MotionTextDataset
    from lexmotion.data.dataset import MotionDataset
    parser = argparse.ArgumentParser(prog="python -m retrieval.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a lexical checkpoint")
    parser.add_argument("--data", required=True, help="a dataset folder whose motions seed the collections")
    parser.add_argument("--sizes", type=collection_sizes, default="10k,100k,1M",
                        help="collection sizes, comma-separated, as counts or with k / M (default 10k,100k,1M)")
    parser.add_argument("--queries", type=int, default=200, help="number of caption queries (default 200)")
    parser.add_argument("--max-dense-gb", type=float, default=6.0, help="skip dense backends above this size")
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="copies",
                        help="how collections are made from the real vectors (see above; default copies)")
    parser.add_argument("--seismic-postings", type=int, default=4000,
                        help="seismic: postings kept per word (default 4000; longer lists: better recall, slower)")
    parser.add_argument("--constraints", help='keyword constraints, e.g. "+left -jump": the sparse and sparse-ivf '
                                              "rows are run again with them (the mask made per query is timed too)")
    parser.add_argument("--windows", metavar="W,S", help="instead: a windowed index of --data (windows of W s every "
                                                          "S s) against its whole-clip index (see above)")
    parser.add_argument("--window-backends", default="sparse,faiss", help="--windows: backends (default sparse,faiss)")
    args = parser.parse_args(argv)
    if args.windows:
        try:
            window, stride = (float(x) for x in args.windows.split(","))
        except ValueError:
            parser.error(f"--windows takes W,S in seconds, e.g. 2,1, not {args.windows!r}")
        header = ["backend", "index", "items", "build_s", "ms_per_query", "ratio"]
        print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
        for row in windows_table(args.model, args.data, window, stride, args.queries, args.window_backends.split(",")):
            print("| " + " | ".join(str(row[h]) for h in header) + " |", flush=True)
        return 0
    import scipy.sparse as sp

    from retrieval.constraints import resolve, split_query
    model = lexmotion.load(args.model)
    constraints = resolve(split_query(args.constraints)[1], model.tokenizer) if args.constraints else []
    ds = MotionDataset(args.data)
    data = MotionTextDataset(ds, None, model.stats, model.served_frames)
    base = sp.csr_matrix(model.encode_motion([r["features"] for r in data.rows]).to_dense().numpy())
    captions = [t for r in data.rows for t in r["texts"]][: args.queries]
    q = model.encode_text(captions).to_dense().numpy()
    q = sp.csr_matrix(q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12))
    print(f"seed vectors: {base.shape[0]} real motions, median {int(np.median(base.getnnz(axis=1)))} non-zeros; "
          f"{q.shape[0]} caption queries; recipe {args.recipe}; {os.cpu_count()} CPU threads; "
          f"torch {torch.__version__}")
    header = ["backend", "N", "build_s", "memory_MB", "qps_1_thread", "qps_all_threads", "ms_per_query_all", "recall@10"]
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    rng = np.random.default_rng(0)
    for n in args.sizes:
        collection = RECIPES[args.recipe](base, n, rng)
        for row in run(collection, q, args.max_dense_gb, seismic_postings=args.seismic_postings,
                       constraints=constraints):
            print("| " + " | ".join(str(row.get(h, "")) for h in header) + " |", flush=True)
        dense_vocab_gb = n * base.shape[1] * 4 / 2 ** 30
        print(f"| (dense vocabulary-sized float32 vectors would take {dense_vocab_gb:.1f} GB at N={n}) |" + " |" * 7)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Indexes of encoded motions (or captions) and explained search.

Vectors are L2-normalised at indexing, so every backend ranks by cosine, the
similarity LexCMLP trains. Backends:
- faiss:       exact inner product (IndexFlatIP) over the collection's active
               vocabulary columns: a query word no item uses adds 0 to every score,
               so dropping those columns is exact.
- faiss-ivf:   IndexIVFFlat (inner product), nlist ~ 4 sqrt(N), nprobe settable.
- faiss-hnsw:  IndexHNSWFlat (inner product, M=32), efSearch settable.
- sparse:      an inverted index: scipy CSR matrix; a query touches only the
               columns of its own non-zero words.
- sparse-ivf:  clustered inverted file over the sparse vectors (retrieval/sparse_ivf.py):
               visits the ``nprobe`` clusters whose centroids best match the query and
               scores their members exactly; the fastest backend at 1M motions.
- seismic:     approximate inverted index for learned sparse vectors (pyseismic-lsr,
               optional extra ``[seismic]``).
- torch:       exact dense matmul + top-k, on CPU or GPU (``device``).
Keyword constraints (``+word`` / ``-word`` in a query, retrieval/constraints.py) are applied
inside every backend but seismic.
Dense checkpoints use faiss (flat) or torch over their 256-d vectors.

An index folder holds index.json (lexmotion version, backend, the model's path
and a hash of its weights, vocabulary hash), items.jsonl (id and captions),
vectors.npz (the raw vectors, CSR for lexical models) and, for FAISS
backends, faiss.index (seismic: seismic.index.seismic; sparse-ivf: sparse_ivf.npz).
Lexical vectors are kept sparse (scipy CSR) in memory too, so a sparse backend
indexes collections whose dense vocabulary-sized vectors would not fit.
Loading an index with a different model is refused.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lexmotion import __version__
from lexmotion.errors import (
    BadValueError,
    CorruptFileError,
    EmptyQueryError,
    LexmotionError,
    OldFormatError,
    WrongPathError,
)
from lexmotion.files import (
    atomic_save,
    claim_output,
    mark_folder,
    output_lock,
    read_json,
    remove_leftovers,
    replace_folder,
    write_json,
    write_jsonl,
)
from lexmotion.models.checkpoint import config_fingerprint, weights_fingerprint
from retrieval.faiss_backend import import_faiss, search_parameters

BACKENDS = ("faiss", "faiss-ivf", "faiss-hnsw", "sparse", "sparse-ivf", "seismic", "torch")
INDEX_FORMAT = 1


@dataclass
class Hit:
    id: str
    score: float
    texts: list[str]
    terms: list[tuple[str, float, float]]   # (word, query weight, item weight)

    def to_dict(self) -> dict:
        return {"id": self.id, "score": round(self.score, 4), "texts": self.texts,
                "terms": [{"term": t, "query_weight": round(q, 4), "item_weight": round(m, 4)} for t, q, m in self.terms]}


class Hits(list):
    """The hits of a search, best first, and the keyword constraints that shaped them."""

    def __init__(self, hits, constraints=()):
        super().__init__(hits)
        self.constraints = list(constraints)


class Index:
    def __init__(self, meta: dict, items: list[dict], raw_vectors, engine=None, columns=None):
        """raw_vectors: (N, V) scipy CSR for lexical models, a dense array for dense ones."""
        self.meta, self.items, self.raw_vectors = meta, items, raw_vectors
        self.vectors = _normalise(raw_vectors)
        self.engine, self.columns = engine, columns
        self.device = "cpu"
        self.nprobe = None      # sparse-ivf: clusters visited per query (None: the index's default)
        self._by_word = None    # the raw vectors as CSC, for keyword constraints

    # --- building -----------------------------------------------------------------
    @classmethod
    def build(cls, model, model_path: str | Path, data_dir: str | Path, split: str | None = "test",
              backend: str = "faiss", texts: bool = False, progress: bool = True) -> "Index":
        import scipy.sparse as sp
        from tqdm.auto import tqdm

        from lexmotion.data.batching import MotionTextDataset
        from lexmotion.data.dataset import MotionDataset

        if backend not in BACKENDS:
            raise LexmotionError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        if backend.startswith("faiss"):
            import_faiss()              # a missing FAISS is said before the encoding, not after
        lexical = model.config.kind == "lexical"
        if not lexical and backend not in ("faiss", "torch"):
            raise LexmotionError(f"a dense model is indexed with --backend faiss or torch, not {backend}")
        ds = MotionDataset(data_dir)
        items, vecs = [], []

        def keep(v):   # lexical vectors are stored sparse, batch by batch
            v = v.to_dense() if v.is_sparse else v
            v = v.float().cpu().numpy()
            return sp.csr_matrix(v) if lexical else v
        if texts:   # captions only: no motion features needed
            ids, all_texts = ds.table["id"], ds.table["texts"]
            captions = [(ids[i], t) for i in ds.split_indices(split) for t in all_texts[i] if t.strip()]
            if not captions:
                raise LexmotionError(f"{data_dir}: no caption in split {split!r} to index")
            items = [{"id": i, "texts": [t]} for i, t in captions]
            for start in tqdm(range(0, len(captions), 256), desc="encoding captions", leave=False,
                              disable=not progress):
                vecs.append(keep(model.encode_text([t for _, t in captions[start:start + 256]])))
        else:
            data = MotionTextDataset(ds, split, model.stats, model.config.motion.max_frames, require_text=False,
                                     progress=progress)
            items = [{"id": r["id"], "texts": r["texts"]} for r in data.rows]
            feats = [r["features"] for r in data.rows]
            for start in tqdm(range(0, len(feats), 64), desc="encoding motions", leave=False, disable=not progress):
                vecs.append(keep(model.encode_motion(feats[start:start + 64])))
        raw = sp.vstack(vecs).tocsr() if lexical else np.concatenate(vecs)
        meta = {"lexmotion_version": __version__, "format": INDEX_FORMAT, "backend": backend,
                "kind": model.config.kind, "collection": "texts" if texts else "motions",
                "model_path": str(model_path), "model_sha1": weights_fingerprint(model_path),
                "model_config_sha1": config_fingerprint(model_path),
                "vocab_size": int(raw.shape[1]), "data": str(data_dir), "split": split, "n": len(items)}
        index = cls(meta, items, raw)
        index._make_engine(progress)
        return index

    def _make_engine(self, progress: bool = False):
        backend, x = self.meta["backend"], self.vectors
        self.columns = self._active_columns()
        if self.meta["kind"] == "lexical":
            self.meta["active_columns"] = int(len(self.columns))
        if backend == "sparse":
            self.engine = x.T.tocsr()            # (V, N): a query reads only its words' rows
        elif backend == "sparse-ivf":
            from retrieval.sparse_ivf import SparseIVF
            self.engine = SparseIVF.build(x, progress=progress)
        elif backend == "seismic":
            from retrieval import seismic_backend
            self.engine = seismic_backend.build(x)
        elif backend == "torch":
            import torch
            self.engine = torch.from_numpy(self._dense_active(x))
        else:
            faiss = import_faiss()
            sub = self._dense_active(x)
            d = sub.shape[1]
            if d == 0 and backend != "faiss":        # FAISS's IVF / HNSW training dies (SIGFPE) on 0 dimensions
                raise LexmotionError(f"every vector to index is empty (the model puts no word on these "
                                     f"{self.meta['collection']}), so {backend} cannot cluster them; train the model "
                                     "further or use --backend faiss")
            if backend == "faiss":
                engine = faiss.IndexFlatIP(d)
            elif backend == "faiss-ivf":
                nlist = max(1, min(int(4 * np.sqrt(len(sub))), len(sub) // 39 or 1))
                engine = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
                engine.train(sub)
                engine.nprobe = min(nlist, 16)
            else:
                engine = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
                engine.hnsw.efConstruction = 80
                engine.hnsw.efSearch = 128
            engine.add(sub)
            self.engine = engine

    def _active_columns(self) -> np.ndarray:
        """Lexical: the vocabulary columns some item uses (the others add 0 to every score). Dense: all."""
        if self.meta["kind"] == "lexical":
            return np.flatnonzero(self.raw_vectors.getnnz(axis=0) > 0)
        return np.arange(self.raw_vectors.shape[1])

    def _dense_active(self, x) -> np.ndarray:
        sub = x[:, self.columns]
        return np.ascontiguousarray(sub.toarray() if hasattr(sub, "toarray") else sub, dtype=np.float32)

    # --- saving and loading ---------------------------------------------------------
    def save(self, out: str | Path, overwrite: bool = False) -> Path:
        """Write the index folder OUT whole: it is the old complete index, briefly absent, or the new one.

        OUT must be new or empty; ``overwrite`` replaces an earlier index, never another folder, nor the
        index's model or dataset."""
        import scipy.sparse as sp
        inputs = [self.meta.get("model_path"), self.meta.get("data")]
        claim_output(out, "index", overwrite=overwrite, inputs=inputs)
        with output_lock(out) as out:
            claim_output(out, "index", overwrite=overwrite, inputs=inputs)      # again, under the lock
            remove_leftovers(out)
            tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.partial-"))
            try:
                write_jsonl(tmp / "items.jsonl", self.items)
                if self.meta["kind"] == "lexical":
                    atomic_save(tmp / "vectors.npz", lambda f: sp.save_npz(f, self.raw_vectors))
                else:
                    atomic_save(tmp / "vectors.npz", lambda f: np.savez_compressed(f, raw=self.raw_vectors))
                if self.meta["backend"].startswith("faiss"):
                    atomic_save(tmp / "faiss.index", lambda f: import_faiss().write_index(self.engine, str(f)))
                elif self.meta["backend"] == "seismic":
                    self.engine.save(str(tmp / "seismic"))
                elif self.meta["backend"] == "sparse-ivf":
                    from retrieval import sparse_ivf
                    atomic_save(tmp / sparse_ivf.FILE, self.engine.save)
                mark_folder(tmp, "index")
                write_json(tmp / "index.json", self.meta)           # last: a folder with it is complete
                replace_folder(tmp, out)
            finally:
                if tmp.exists():
                    shutil.rmtree(tmp, ignore_errors=True)
        return out

    @classmethod
    def load(cls, path: str | Path, model_path: str | Path | None = None) -> "Index":
        path = Path(path)
        meta = cls.read_meta(path)
        if model_path is not None and weights_fingerprint(model_path) != meta["model_sha1"]:
            raise LexmotionError(f"{path}: built with the model {meta['model_path']}, not {model_path} "
                                 "(its weights differ): rebuild the index with this model")
        # indexes from before the config hash have only the weights' one
        if model_path is not None and meta.get("model_config_sha1", config_fingerprint(model_path)) \
                != config_fingerprint(model_path):
            raise LexmotionError(f"{path}: built with the model {meta['model_path']}, whose config.json differs from "
                                 f"{model_path}'s: rebuild the index with this model")
        items = _read_part(path / "items.jsonl", "item list", lambda: cls._read_items(path / "items.jsonl"))
        raw = _read_part(path / "vectors.npz", "vectors", lambda: cls._read_vectors(path / "vectors.npz", meta, len(items)))
        index = cls(meta, items, raw)
        backend = meta["backend"]
        if backend.startswith("faiss"):
            index.engine = _read_part(path / "faiss.index", "FAISS index",
                                      lambda: import_faiss().read_index(str(path / "faiss.index")))
            index.columns = index._active_columns()
            if index.engine.ntotal != len(index.items) or index.engine.d != len(index.columns):
                raise CorruptFileError(f"{path / 'faiss.index'}: holds {index.engine.ntotal} vectors of {index.engine.d} "
                                       f"dimensions, not the index's {len(index.items)} of {len(index.columns)}")
        elif backend == "seismic":
            from retrieval.seismic_backend import import_seismic
            seismic = import_seismic()
            index.engine = _read_part(path / "seismic.index.seismic", "seismic index",
                                      lambda: seismic.SeismicIndex.load(str(path / "seismic.index.seismic")))
        elif backend == "sparse-ivf":
            from retrieval import sparse_ivf
            index.engine = _read_part(path / sparse_ivf.FILE, "sparse-ivf index",
                                      lambda: sparse_ivf.SparseIVF.load(path / sparse_ivf.FILE))
        else:
            index._make_engine()
        return index

    @staticmethod
    def read_meta(path: str | Path) -> dict:
        """An index folder's index.json, checked (folder, format, fields); nothing else is read."""
        path = Path(path)
        if path.is_file():
            raise WrongPathError(f"{path}: is a file; an index is a folder from `lexmotion index build`")
        if not (path / "index.json").is_file():
            raise WrongPathError(f"{path}: no such index (build one with `lexmotion index build`)")
        meta = read_json(path / "index.json")
        if not isinstance(meta, dict) or meta.get("format") != INDEX_FORMAT:
            found = meta.get("format") if isinstance(meta, dict) else "?"
            version = meta.get("lexmotion_version") if isinstance(meta, dict) else "?"
            raise OldFormatError(f"{path}: index format {found} (lexmotion {version}); "
                                 f"this lexmotion {__version__} reads format {INDEX_FORMAT}: rebuild the index")
        missing = [k for k in ("backend", "kind", "collection", "model_sha1", "model_path", "n") if k not in meta]
        if missing or meta["backend"] not in BACKENDS or meta["kind"] not in ("lexical", "dense"):
            raise CorruptFileError(f"{path / 'index.json'}: damaged index description "
                                   f"({'missing ' + ', '.join(missing) if missing else 'unknown backend or kind'})")
        return meta

    @staticmethod
    def _read_items(path: Path) -> list[dict]:
        items = [json.loads(line) for line in path.read_text().splitlines() if line]
        if not all(isinstance(i, dict) and isinstance(i.get("id"), str) for i in items):
            raise ValueError("an item without an id")
        return items

    @staticmethod
    def _read_vectors(path: Path, meta: dict, n_items: int):
        import scipy.sparse as sp
        if meta["kind"] == "lexical":
            raw = sp.csr_matrix(sp.load_npz(path), dtype=np.float32)
            values = raw.data
        else:
            with np.load(path) as z:
                raw = np.asarray(z["raw"], dtype=np.float32)
            values = raw
        if raw.ndim != 2 or raw.shape[0] != n_items or n_items != meta["n"]:
            raise ValueError(f"{raw.shape[0] if raw.ndim else 0} vectors for {n_items} items (index.json: {meta['n']})")
        if not np.isfinite(values).all():
            raise ValueError("NaN or infinite values")
        return raw

    def to(self, device: str) -> "Index":
        """torch: the matrix moves to ``device``. faiss / faiss-ivf: with faiss-gpu installed, the index
        moves to the GPU (``cuda`` or ``cuda:N``); HNSW has no GPU version. Sparse backends stay on the CPU."""
        backend = str(self.meta["backend"])
        if backend == "torch":
            self.engine = self.engine.to(device)
            self.device = device
        elif backend.startswith("faiss") and str(device).startswith("cuda"):
            faiss = import_faiss()
            if not hasattr(faiss, "StandardGpuResources"):
                raise LexmotionError("--device cuda with a FAISS index needs faiss-gpu: pip install 'lexmotion[gpu]' "
                                     "(in an environment without faiss-cpu), or build the index with --backend torch")
            if backend == "faiss-hnsw":
                raise LexmotionError("FAISS has no GPU HNSW index: use --backend faiss or faiss-ivf on the GPU")
            gpu = int(str(device).split(":")[1]) if ":" in str(device) else 0
            self._gpu_resources = faiss.StandardGpuResources()
            self.engine = faiss.index_cpu_to_gpu(self._gpu_resources, gpu, self.engine)
            self.device = f"cuda:{gpu}"
        return self

    def set_search_parameters(self, nprobe: int | None = None, ef_search: int | None = None) -> "Index":
        """Recall/speed settings of the approximate backends: ``nprobe`` (clusters visited) for
        sparse-ivf and faiss-ivf, ``ef_search`` (HNSW candidate list) for faiss-hnsw."""
        backend = self.meta["backend"]
        if nprobe is not None:
            check_k(nprobe, "--nprobe")
            if backend == "sparse-ivf":
                self.nprobe = nprobe
            elif backend == "faiss-ivf":
                self.engine.nprobe = nprobe
            else:
                raise BadValueError(f"--nprobe applies to sparse-ivf and faiss-ivf indexes, not {backend}")
        if ef_search is not None:
            check_k(ef_search, "--ef-search")
            if backend != "faiss-hnsw":
                raise BadValueError(f"--ef-search applies to faiss-hnsw indexes, not {backend}")
            self.engine.hnsw.efSearch = ef_search
        return self

    # --- searching ------------------------------------------------------------------
    def search_vectors(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(Q, V) raw query vectors -> (Q, k) scores and item indices, best first; with ``allowed``
        ((N,) bool, keyword constraints) only those items, -inf / -1 filling what is left over."""
        check_k(k)
        if allowed is not None and self.meta["backend"] == "seismic":
            raise BadValueError("keyword constraints (+word / -word) work with the sparse, sparse-ivf, faiss, "
                                "faiss-ivf, faiss-hnsw and torch backends, not seismic")
        k = min(k, len(self.items))
        q = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
        backend = self.meta["backend"]
        if backend in ("sparse", "sparse-ivf", "seismic"):
            import scipy.sparse as sp
            q_sparse = sp.csr_matrix(q.astype(np.float32))
        if backend == "sparse":
            scores = np.asarray((q_sparse @ self.engine).todense())
            if allowed is not None:
                scores[:, ~allowed] = -np.inf
            top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
            return np.take_along_axis(scores, top, axis=1), top
        if backend == "sparse-ivf":
            return self.engine.search(q_sparse, k, nprobe=self.nprobe, allowed=allowed)
        if backend == "seismic":
            from retrieval import seismic_backend
            return seismic_backend.search(self.engine, q_sparse, k)
        sub = np.ascontiguousarray(q[:, self.columns]).astype(np.float32)
        if backend == "torch":
            import torch
            scores = torch.from_numpy(sub).to(self.engine.device) @ self.engine.T
            if allowed is not None:
                scores[:, ~torch.from_numpy(allowed).to(scores.device)] = -torch.inf
            values, top = torch.topk(scores, k, dim=1)
            return values.cpu().numpy(), top.cpu().numpy()
        if allowed is None:
            return self.engine.search(sub, k)
        return self.engine.search(sub, k, params=search_parameters(self.engine, self.meta["backend"], allowed))

    def search(self, model, query: str, k: int = 5, n_terms: int = 5) -> "Hits":
        """The k best motions for a description. ``+word`` / ``-word`` in the query are keyword
        constraints (retrieval/constraints.py): the hits' ``constraints`` say what each removed."""
        from retrieval.constraints import allowed_items, parse
        check_k(k)
        if not isinstance(query, str) or not query.strip():
            raise EmptyQueryError("empty query: give a description such as \"a person kicks with the left leg\"")
        if self.meta["collection"] != "motions":
            raise LexmotionError("this index holds texts: search it with a motion (--motion FILE)")
        query, constraints = parse(query, model.tokenizer)
        if constraints and model.config.kind != "lexical":
            raise BadValueError(f"keyword constraints ({constraints[0]}) need a lexical model: a dense vector has no words")
        if model.config.kind == "lexical":
            from lexmotion.models.vocabulary import caption_word_ids
            if not caption_word_ids(model.tokenizer, query):
                raise EmptyQueryError(f"the query {query[:60]!r} has no word that describes a motion (only function "
                                     "words, digits or punctuation): try e.g. \"someone walks in a circle\"")
        vec = model.encode_text([query])
        if self._by_word is None and constraints:     # the items' vectors by word, made once
            self._by_word = self.raw_vectors.tocsc()
        allowed = allowed_items(self._by_word, constraints) if constraints else None
        hits = self._hits(model, vec.to_dense()[0].numpy() if vec.is_sparse else vec[0].numpy(), k, n_terms, allowed)
        return Hits(hits, constraints)

    def search_motion(self, model, clip: dict, k: int = 5, n_terms: int = 5) -> "Hits":
        if self.meta["collection"] != "texts":
            raise LexmotionError("this index holds motions: build one with `lexmotion index build --texts` "
                                 "to search captions with a motion")
        vec = model.encode_motion([clip])
        vec = vec.to_dense()[0].numpy() if vec.is_sparse else vec[0].numpy()
        if not np.any(vec):
            raise EmptyQueryError("the motion encodes to no word (an empty vector): nothing to search with")
        return Hits(self._hits(model, vec, k, n_terms))

    def _hits(self, model, query_vec: np.ndarray, k: int, n_terms: int, allowed=None) -> list[Hit]:
        if not np.any(query_vec):
            raise EmptyQueryError("the query has no vocabulary term after encoding (only stop words or unknown "
                                 "words?): describe the motion, e.g. \"someone walks in a circle\"")
        scores, top = self.search_vectors(query_vec[None], k, allowed)
        hits = []
        for score, i in zip(scores[0], top[0]):
            if i < 0 or score == -np.inf:          # fewer than k items left by the constraints
                continue
            terms = []
            if self.meta["kind"] == "lexical":
                item = self.raw_vectors[i].toarray().ravel()
                contrib = query_vec * item
                for v in np.argsort(-contrib)[:n_terms]:
                    if contrib[v] > 0:
                        terms.append((model.tokenizer.convert_ids_to_tokens(int(v)), float(query_vec[v]), float(item[v])))
            hits.append(Hit(self.items[i]["id"], float(score), self.items[i]["texts"], terms))
        return hits


def check_k(k, option: str = "-k") -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise BadValueError(f"{option} must be a positive number" + (" of hits" if option == "-k" else "")
                            + f", not {k!r}")
    return int(k)


def _read_part(path: Path, what: str, read):
    """Run a reader of one index file; whatever its library raises becomes one line naming the file."""
    try:
        return read()
    except LexmotionError:
        raise
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as err:     # numpy, scipy, faiss; a Rust panic (seismic) is a BaseException
        reason = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
        raise CorruptFileError(f"{path}: damaged {what} ({reason}); rebuild it with `lexmotion index build`") from None


def _normalise(x):
    """Rows scaled to unit L2 norm (every backend then ranks by cosine); CSR stays CSR."""
    if hasattr(x, "multiply"):
        import scipy.sparse as sp
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        return sp.csr_matrix(sp.diags(1 / np.maximum(norms, 1e-12).astype(np.float32)) @ x, dtype=np.float32)
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)

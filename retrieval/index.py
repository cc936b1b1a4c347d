"""Indexes of encoded motions (or captions) and explained search.

An ``Index`` holds its items (id and captions), their raw vectors and a backend (retrieval/backend.py:
faiss, faiss-ivf, faiss-hnsw, sparse, sparse-ivf, seismic, torch, one module each). Vectors are
L2-normalised before the backend sees them, so every backend ranks by cosine, the similarity LexCMLP
trains. Keyword constraints (``+word`` / ``-word``, retrieval/constraints.py) become a mask of allowed
items that every backend but seismic applies inside its search. ``retrieval.collection.build_index``
encodes a dataset and makes the index.

An index folder holds index.json (lexmotion version, backend, the model's path and hashes of its
weights and config), items.jsonl, vectors.npz (the raw vectors, CSR for lexical models) and the
backend's own file, if it has one. Lexical vectors stay sparse (scipy CSR) in memory too, so a
sparse backend indexes collections whose dense vocabulary-sized vectors would not fit. Loading an
index with a different model is refused. When the model has a query bank, each whole-clip motion item
also holds its hub prior (lexmotion/models/querybank.py), and a text query's score is the cosine less it.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
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
from lexmotion.models.vocabulary import is_whole_word
from retrieval.backend import BACKENDS, Backend, active_columns, backend_class

INDEX_FORMAT = 1


@dataclass
class Hit:
    id: str
    score: float
    texts: list[str]
    terms: list[tuple[str, float, float]]   # (word, query weight, item weight)
    start: float | None = None              # windowed indexes: the moment in the clip, in seconds
    end: float | None = None
    prior: float | None = None              # the item's hub prior, already taken from score (querybank.py)
    # when the motion (item or query) shows none of the words behind the score: the nearest ones, as
    # (word, the motion's weight, the word's calibrated threshold)
    near: list[tuple[str, float, float]] = field(default_factory=list)
    both: bool = False                      # query and item are motions: a word counts when both show it


    def because(self) -> str:
        """One line on which words explain the hit, or, when the motion shows none, which came closest."""
        if self.terms:
            return "because: " + ", ".join(f"{t} (query {q:.2f} x item {m:.2f})" for t, q, m in self.terms)
        if self.near:
            where, weight = ("in both motions", "the weaker ") if self.both else ("in the motion", "")
            return (f"no shared word is over its threshold {where}; nearest: "
                    + ", ".join(f"{t} ({weight}{m:.2f} of {limit:.2f})" for t, m, limit in self.near))
        return ""

    def to_dict(self) -> dict:
        span = {"start": self.start, "end": self.end} if self.start is not None else {}
        prior = {"prior": round(self.prior, 6)} if self.prior is not None else {}
        near = {"near_terms": [{"term": t, "motion_weight": round(m, 4), "threshold": round(limit, 4)}
                               for t, m, limit in self.near], **({"near_in_both": True} if self.both else {})} if self.near else {}
        return {"id": self.id, **span, "score": round(self.score, 6), **prior, "texts": self.texts,
                "terms": [{"term": t, "query_weight": round(q, 4), "item_weight": round(m, 4)} for t, q, m in self.terms],
                **near}


# A moment grows from its best window through the clip's windows that overlap it and score within this share
# of the best score; chosen on kitml-cmu val and cmu-extra test sequences (docs/results/moments.md)
MOMENT_TOLERANCE = 0.2


def grow_moment(best: float, start: float, end: float, windows, tolerance: float = MOMENT_TOLERANCE,
                taken=()) -> tuple[float, float]:
    """The moment around a clip's best window (score BEST, START-END s): the span of the clip's WINDOWS
    ((start, end, score)) that overlap it, directly or through each other, and score at least
    best - tolerance * |best|. Windows overlapping TAKEN spans (the clip's moments already found) stay out."""
    floor = best - tolerance * abs(best)
    grown = tolerance > 0           # 0: the window alone, even where another scores exactly as well
    while grown:
        grown = False
        for a, b, score in windows:
            if (score >= floor and a < end and b > start and (a < start or b > end)
                    and not any(a < e and b > s for s, e in taken)):
                start, end, grown = min(start, a), max(end, b), True
    return start, end


def moment_hits(ranked, place, windows_of, tolerance: float = MOMENT_TOLERANCE, k: int | None = None) -> list:
    """(score, row) best first -> (score, row, start, end): each hit is a window that overlaps no better hit of its
    clip, grown into its moment (``grow_moment``). PLACE(row) -> (clip, start, end); WINDOWS_OF(clip) -> the
    clip's windows as (start, end, score). Stops at K hits."""
    hits, clips = [], []
    for score, row in ranked:
        clip, start, end = place(row)
        taken = [(s, e) for (_, _, s, e), c in zip(hits, clips) if c == clip]
        if any(start < e and end > s for s, e in taken):
            continue
        hits.append((score, row, *grow_moment(score, start, end, windows_of(clip), tolerance, taken)))
        clips.append(clip)
        if k is not None and len(hits) >= k:
            break
    return hits


class Hits(list):
    """The hits of a search, best first, and the keyword constraints that shaped them."""

    def __init__(self, hits, constraints=()):
        super().__init__(hits)
        self.constraints = list(constraints)


class Index:
    def __init__(self, meta: dict, items: list[dict], raw_vectors, backend: Backend | None = None):
        """raw_vectors: (N, V) scipy CSR for lexical models, a dense array for dense ones."""
        self.meta, self.items, self.raw_vectors = meta, items, raw_vectors
        self.vectors = _normalise(raw_vectors)
        self.backend = backend
        self.device = "cpu"
        self._by_word = None    # the raw vectors as CSC, for keyword constraints
        self._whole = None      # (V,) True for whole words, False for "##" pieces (made at the first search)
        self._rows_of = None    # a windowed index: each clip's rows (made at the first search)
        # hub priors (lexmotion/models/querybank.py): a text query ranks items by cosine less prior
        self.priors = np.array([item["prior"] for item in items], dtype=np.float32) if "querybank" in meta else None

    @classmethod
    def create(cls, meta: dict, items: list[dict], raw_vectors, progress: bool = False) -> "Index":
        """An index of these vectors, with the backend ``meta["backend"]`` built on them."""
        index = cls(meta, items, raw_vectors)
        if meta["kind"] == "lexical":
            meta["active_columns"] = int(len(active_columns(raw_vectors)))
        index.backend = backend_class(meta["backend"]).build(index.vectors, progress=progress)
        return index

    @property
    def moments(self) -> bool:
        """Whether the items are moments of clips (windows, or segments cut where the motion changes)."""
        return "window" in self.meta or "segments" in self.meta

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
                self.backend.save(tmp)
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
        kind = backend_class(meta["backend"])
        where = path / kind.file if kind.file else path / "vectors.npz"
        index.backend = _read_part(where, kind.label, lambda: kind.load(path, index.vectors))
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
        self.backend = self.backend.to(device)
        self.device = str(device)
        return self

    def set_search_parameters(self, nprobe: int | None = None, ef_search: int | None = None) -> "Index":
        """Recall/speed settings of the approximate backends: ``nprobe`` (clusters visited) for
        sparse-ivf and faiss-ivf, ``ef_search`` (HNSW candidate list) for faiss-hnsw."""
        if nprobe is not None:
            check_k(nprobe, "--nprobe")
        if ef_search is not None:
            check_k(ef_search, "--ef-search")
        self.backend.set_parameters(nprobe, ef_search)
        return self

    # --- searching ------------------------------------------------------------------
    def search_vectors(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(Q, V) raw query vectors -> (Q, k) scores and item indices, best first; with ``allowed``
        ((N,) bool, keyword constraints) only those items, -inf / -1 filling what is left over."""
        check_k(k)
        if allowed is not None and not self.backend.constraints:
            raise BadValueError("keyword constraints (+word / -word) work with the sparse, sparse-ivf, faiss, "
                                f"faiss-ivf, faiss-hnsw and torch backends, not {self.backend.name}")
        q = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
        return self.backend.search(q, min(k, len(self.items)), allowed)

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
        if constraints and not model.has_words:
            raise BadValueError(f"keyword constraints ({constraints[0]}) need a lexical model: a dense vector has no words")
        if model.has_words:
            from lexmotion.models.vocabulary import caption_word_ids
            if not caption_word_ids(model.tokenizer, query):
                raise EmptyQueryError(f"the query {query[:60]!r} has no word that describes a motion (only function "
                                     "words, digits or punctuation): try e.g. \"someone walks in a circle\"")
        vec = model.encode_text([query])
        if self._by_word is None and constraints:     # the items' vectors by word, made once
            self._by_word = self.raw_vectors.tocsc()
        allowed = allowed_items(self._by_word, constraints, self.word_limits()) if constraints else None
        hits = self._hits(model, vec.to_dense()[0].numpy() if vec.is_sparse else vec[0].numpy(), k, n_terms, allowed)
        return Hits(hits, constraints)

    def search_motion(self, model, clip, k: int = 5, n_terms: int = 5, exclude: str | None = None,
                      span: tuple[float, float] | None = None) -> "Hits":
        """Search with a motion: a clip (dict of joints, fps, skeleton, or a feature array) or its vector,
        already encoded by MODEL (a caller that also explains the motion encodes it once). On a caption index,
        the k captions nearest it; on a motion index, the k motions most like it, by the cosine alone (the hub
        prior is a text query's), explained by words both motions show. EXCLUDE: a clip id to leave out (the
        query's own); with SPAN (start, end seconds: the query is that moment of it), only the windows of it
        that overlap the moment, so that the take's other moments can be found."""
        check_k(k)
        vec = clip if hasattr(clip, "is_sparse") else model.encode_motion([clip])[0]
        vec = (vec.to_dense() if vec.is_sparse else vec).numpy()
        if not np.any(vec):
            raise EmptyQueryError("the motion encodes to no word (an empty vector): nothing to search with")
        allowed = None
        if exclude is not None:
            def own(item):     # a whole clip holds any moment of it
                return item["id"] == exclude and (span is None or "start" not in item
                                                  or (item["start"] < span[1] and item["end"] > span[0]))
            allowed = np.array([not own(item) for item in self.items])
            if not allowed.any():
                raise LexmotionError(f"the index holds nothing but {exclude}: nothing else to find")
        return Hits(self._hits(model, vec, k, n_terms, allowed, query_is_motion=True))

    def word_limits(self) -> np.ndarray | None:
        """(V,) the weight over which an item shows each word (the model's calibrated thresholds, at least 0);
        None when the index's model had none (then any weight > 0 shows the word)."""
        t = self.meta.get("thresholds")
        if not t:
            return None
        if getattr(self, "_limits", None) is None:
            from lexmotion.models.thresholds import word_limits
            self._limits = word_limits(t, self.raw_vectors.shape[1])
        return self._limits

    def _hits(self, model, query_vec: np.ndarray, k: int, n_terms: int, allowed=None,
              query_is_motion: bool = False) -> list[Hit]:
        if not np.any(query_vec):
            raise EmptyQueryError("the query has no vocabulary term after encoding (only stop words or unknown "
                                 "words?): describe the motion, e.g. \"someone walks in a circle\"")
        # a caption index has no priors, and a motion query takes none: the prior corrects a text query's hubs
        found = self._ranked(query_vec, k, allowed, None if query_is_motion else self.priors)
        hits = []
        word = model.tokenizer.convert_ids_to_tokens
        calibrated = self.word_limits()
        limits = 0 if calibrated is None else calibrated
        items_are_motions = self.meta["collection"] == "motions"
        both = query_is_motion and items_are_motions          # motion to motion: a word counts when both show it
        lexical = self.meta["kind"] == "lexical"
        if lexical and (self._whole is None or len(self._whole) != len(query_vec)):
            self._whole = np.array([is_whole_word(t) for t in word(list(range(len(query_vec))))])
        for score, i, start, end in found:
            terms, near = [], []
            if lexical:
                item = self.raw_vectors[i].toarray().ravel()
                # the words that explain a hit are words the motion (or both motions) shows, over their thresholds
                motion = np.minimum(item, query_vec) if both else item if items_are_motions else query_vec
                shared = query_vec * item * self._whole
                contrib = np.where(motion > limits, shared, 0)
                terms = [(word(int(v)), float(query_vec[v]), float(item[v]))
                         for v in np.argsort(-contrib)[:n_terms] if contrib[v] > 0]
                if not terms and calibrated is not None:    # ranked by the whole vector: say so, never a blank
                    near = [(word(int(v)), float(motion[v]), float(limits[v]))
                            for v in np.argsort(-shared)[:3] if shared[v] > 0]
            hits.append(Hit(self.items[i]["id"], float(score), self.items[i]["texts"], terms, start, end,
                            None if query_is_motion else self.items[i].get("prior"), near, both=both))
        return hits

    def _ranked(self, query_vec: np.ndarray, k: int, allowed=None,
                priors: np.ndarray | None = None) -> list[tuple[float, int, float | None, float | None]]:
        """The k best (score, row, start, end); a windowed index's hits are moments (``moment_hits``). With
        PRIORS, a score is the cosine less the item's prior. The backend is asked for more candidates until
        k hits are found and no item it has not returned could beat them, or every item was seen."""
        windowed = self.moments
        wanted = min(4 * k if windowed or priors is not None else k, len(self.items))
        lowest_prior = float(priors.min()) if priors is not None and len(priors) else 0.0
        while True:
            scores, top = self.search_vectors(query_vec[None], wanted, allowed)
            ranked = [(float(s), int(i)) for s, i in zip(scores[0], top[0]) if i >= 0 and s != -np.inf]
            everything = wanted >= len(self.items)
            # no item past these scores above the lowest fetched cosine less the lowest prior
            bound = -np.inf if everything or not ranked else ranked[-1][0] - lowest_prior
            if priors is not None:
                ranked = sorted(((s - float(priors[i]), i) for s, i in ranked), key=lambda x: -x[0])
            found = (self._moments(query_vec, ranked, allowed, priors, k) if windowed
                     else [(s, i, None, None) for s, i in ranked])
            if everything or (len(found) >= k and found[k - 1][0] >= bound):
                return found[:k]
            wanted = min(2 * wanted, len(self.items))

    def _moments(self, query_vec: np.ndarray, ranked, allowed, priors, k: int) -> list:
        """A windowed index's ranked windows as its K best moments, grown through each clip's windows by their
        exact scores."""
        if self._rows_of is None:
            self._rows_of = {}
            for row, item in enumerate(self.items):
                self._rows_of.setdefault(item["id"], []).append(row)
        q = query_vec / max(float(np.linalg.norm(query_vec)), 1e-12)

        def windows_of(clip):
            rows = [r for r in self._rows_of[clip] if allowed is None or allowed[r]]
            scores = np.asarray(self.vectors[rows] @ q).ravel() - (0 if priors is None else priors[rows])
            return [(self.items[r]["start"], self.items[r]["end"], float(s)) for r, s in zip(rows, scores)]

        def place(row):
            return self.items[row]["id"], self.items[row]["start"], self.items[row]["end"]

        # a segment is a moment already (retrieval/segments.py): ranked as it is, never grown
        return moment_hits(ranked, place, windows_of, 0.0 if "segments" in self.meta else MOMENT_TOLERANCE, k=k)


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
        from lexmotion.models.querybank import unit_rows
        return unit_rows(x)
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)

"""A collection to index: a dataset's motions (or captions) encoded by a model, and the index built on them."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lexmotion import __version__
from lexmotion.errors import LexmotionError


def encode_collection(model, data_dir: str | Path, split: str | None = "test", texts: bool = False,
                      progress: bool = True) -> tuple[list[dict], object]:
    """-> (items [{id, texts}], raw vectors): (N, V) scipy CSR for a lexical model, a dense array for a dense one.
    ``texts``: the split's captions, one item each, instead of its motions."""
    import scipy.sparse as sp
    from tqdm.auto import tqdm

    from lexmotion.data.batching import MotionTextDataset
    from lexmotion.data.dataset import MotionDataset
    ds = MotionDataset(data_dir)

    def keep(v):   # lexical vectors are stored sparse, batch by batch
        return sp.csr_matrix(v.to_dense().float().numpy()) if v.is_sparse else v.float().cpu().numpy()
    vecs = []
    if texts:   # captions only: no motion features needed
        ids, all_texts = ds.table["id"], ds.table["texts"]
        captions = [(ids[i], t) for i in ds.split_indices(split) for t in all_texts[i] if t.strip()]
        if not captions:
            raise LexmotionError(f"{data_dir}: no caption in split {split!r} to index")
        items = [{"id": i, "texts": [t]} for i, t in captions]
        for start in tqdm(range(0, len(captions), 256), desc="encoding captions", leave=False, disable=not progress):
            vecs.append(keep(model.encode_text([t for _, t in captions[start:start + 256]])))
    else:
        data = MotionTextDataset(ds, split, model.stats, model.config.motion.max_frames, require_text=False,
                                 progress=progress)
        items = [{"id": r["id"], "texts": r["texts"]} for r in data.rows]
        feats = [r["features"] for r in data.rows]
        for start in tqdm(range(0, len(feats), 64), desc="encoding motions", leave=False, disable=not progress):
            vecs.append(keep(model.encode_motion(feats[start:start + 64])))
    return items, (sp.vstack(vecs).tocsr() if model.has_words else np.concatenate(vecs))


def build_index(model, model_path: str | Path, data_dir: str | Path, split: str | None = "test",
                backend: str = "faiss", texts: bool = False, progress: bool = True):
    """Encode the collection with MODEL (the checkpoint at MODEL_PATH) and index it with BACKEND."""
    from lexmotion.models.checkpoint import config_fingerprint, weights_fingerprint
    from retrieval.backend import backend_class
    from retrieval.index import INDEX_FORMAT, Index
    backend_class(backend).check(model.has_words)      # before the encoding, not after
    items, raw = encode_collection(model, data_dir, split, texts, progress)
    meta = {"lexmotion_version": __version__, "format": INDEX_FORMAT, "backend": backend,
            "kind": model.config.kind, "collection": "texts" if texts else "motions",
            "model_path": str(model_path), "model_sha1": weights_fingerprint(model_path),
            "model_config_sha1": config_fingerprint(model_path),
            "vocab_size": int(raw.shape[1]), "data": str(data_dir), "split": split, "n": len(items)}
    return Index.create(meta, items, raw, progress)

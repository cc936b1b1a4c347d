"""The hub prior: how much a clip resembles every caption, from a bank of training captions, stored as
``querybank.json`` in a checkpoint.

Some clips lie near many captions ("hubs") and come first for queries that do not describe them.
Querybank normalisation (Bogolin et al., CVPR 2022) ranks a clip for a query by the inverted softmax of
its cosine over a bank of training captions. In cosine units that is the cosine less the clip's prior:

    prior(m) = (1 / beta) * log( mean over bank captions b of exp(beta * cos(b, m)) )

a soft maximum of the clip's cosine to any training caption. The prior is one number per clip, so an
index stores it beside the vector, a text query's ranking subtracts it, and a motion query's ranking of
captions is unchanged (a constant per query). LexCMLP and dense write the bank (their training
captions) at their end; ``lexmotion index querybank`` adds one to an older checkpoint in a new folder.
"""
from __future__ import annotations

import numpy as np

QUERYBANK = "querybank.json"
BETA = 25.0                 # chosen on the val splits of kitml-cmu and cmu-extra (docs/results/querybank.md)


def bank_captions(sources) -> list[str]:
    """The train-split captions of SOURCES (``pretrain.data_sources.DataSource``: a dataset folder and,
    optionally, the caption sources it uses), each once, in a fixed order."""
    from lexmotion.data.dataset import MotionDataset
    seen = {}
    for src in sources:
        ds = MotionDataset(src.path)
        texts, kinds = ds.table["texts"], ds.text_sources()
        for i in ds.split_indices("train"):
            for text, kind in zip(texts[i], kinds[i]):
                if text.strip() and (src.captions is None or kind in src.captions):
                    seen.setdefault(text.strip(), None)
    return list(seen)


def make_querybank(sources, beta: float = BETA) -> dict:
    from lexmotion.errors import LexmotionError
    if not beta > 0:
        raise LexmotionError(f"--beta must be a positive number, not {beta}")
    texts = bank_captions(sources)
    if not texts:
        raise LexmotionError(f"{', '.join(s.path for s in sources)}: no training caption to make a query bank of")
    return {"beta": float(beta), "texts": texts, "data": [s.path for s in sources],
            "how": "train-split captions; a clip's prior is log-mean-exp over them of beta * cosine, over beta"}


def read_querybank(model_path) -> dict | None:
    """The checkpoint's query bank, or None for a checkpoint without one (then clips have no prior)."""
    from lexmotion.errors import CorruptFileError
    from lexmotion.files import read_json
    from lexmotion.models.hub import local_checkpoint
    if not model_path:
        return None
    path = local_checkpoint(model_path) / QUERYBANK
    if not path.is_file():
        return None
    bank = read_json(path)
    beta, texts = (bank.get("beta"), bank.get("texts")) if isinstance(bank, dict) else (None, None)
    if not (isinstance(beta, (int, float)) and beta > 0 and isinstance(texts, list) and texts
            and all(isinstance(t, str) and t.strip() for t in texts)):
        raise CorruptFileError(f"{path}: damaged query bank (it needs a positive beta and a list of captions); "
                               "delete it, or make a new copy with `lexmotion index querybank`")
    return bank


def clip_priors(model, bank: dict, vectors, batch_size: int = 4096) -> np.ndarray:
    """(N,) the hub prior of each raw motion vector in VECTORS ((N, V) scipy CSR, a numpy array or a torch
    tensor), against BANK's captions encoded by MODEL."""
    captions, motions = bank_vectors(model, bank["texts"]), motion_rows(vectors)
    return np.concatenate([priors_from_cosines(bank_cosines(captions, motions[i:i + batch_size]), bank["beta"])
                           for i in range(0, motions.shape[0], batch_size)]).astype(np.float32)


def bank_vectors(model, texts: list[str]):
    """The bank's captions encoded by MODEL: (bank, V or D) unit rows, scipy CSR."""
    import scipy.sparse as sp
    import torch
    chunks = []
    with torch.no_grad():
        for i in range(0, len(texts), 256):
            v = model.encode_text(texts[i:i + 256])
            chunks.append(sp.csr_matrix((v.to_dense() if v.is_sparse else v).float().cpu().numpy()))
    return unit_rows(sp.vstack(chunks).tocsr())


def motion_rows(vectors):
    """Raw motion vectors (scipy CSR, numpy or torch) -> unit rows, scipy CSR."""
    import scipy.sparse as sp
    import torch
    if torch.is_tensor(vectors):
        vectors = vectors.float().cpu().numpy()
    return unit_rows(sp.csr_matrix(vectors))


def bank_cosines(captions, motions) -> np.ndarray:
    """(bank, N) cosines of unit caption rows and unit motion rows."""
    return (captions @ motions.T).toarray().astype(np.float64)


def priors_from_cosines(cos: np.ndarray, beta: float) -> np.ndarray:
    """(bank, N) cosines -> (N,) log-mean-exp of beta * cosine over the bank, over beta (computed stably)."""
    peak = cos.max(axis=0)
    return peak + np.log(np.exp(float(beta) * (cos - peak)).mean(axis=0)) / float(beta)


def unit_rows(x):
    """The rows of a scipy sparse matrix scaled to unit L2 norm, as float32 CSR."""
    import scipy.sparse as sp
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    return sp.csr_matrix(sp.diags(1 / np.maximum(norms, 1e-12).astype(np.float32)) @ x, dtype=np.float32)

"""A collection to index: a dataset's motions (or captions) encoded by a model, and the index built on them."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lexmotion import __version__
from lexmotion.errors import LexmotionError
from retrieval import segments as cut
from retrieval.segments import windows


def check_window_length(seconds: float, patch_frames: int, max_frames: int, option: str = "--window") -> None:
    """A window's length in seconds: from one time patch to the encoder's window."""
    from lexmotion.data.features import WORKING_FPS
    patch, longest = patch_frames / WORKING_FPS, max_frames / WORKING_FPS
    if not seconds > 0 or seconds < patch or seconds > longest:
        raise LexmotionError(f"{option} must be from one patch ({patch:g} s) to the encoder's window ({longest:g} s), "
                             f"not {seconds}")


def check_windows(model, window: float | None, stride: float | None, texts: bool, segments: bool = False) -> None:
    """--window / --stride in seconds: positive, at least one patch, at most the encoder's window; motions only.
    --segments: motions only, and no --window."""
    if segments:
        if window is not None or stride is not None:
            raise LexmotionError("--segments cuts each motion where it changes; it takes no --window or --stride")
        if texts:
            raise LexmotionError("--segments indexes moments of motions; a caption index (--texts) has none")
        return
    if window is None:
        if stride is not None:
            raise LexmotionError("--stride needs --window (the windows' length in seconds)")
        return
    if texts:
        raise LexmotionError("--window indexes windows of motions; a caption index (--texts) has none")
    check_window_length(window, model.config.motion.patch_frames, model.config.motion.max_frames)
    if stride is not None and not stride > 0:
        raise LexmotionError(f"--stride must be a positive number of seconds, not {stride}")


def moment_query(model, clip, start: float | None = None, end: float | None = None):
    """CLIP as ``Index.search_motion`` takes it: as it is when START and END are None; else START to END seconds
    of it (either None: the clip's own start or end), read as MODEL reads an indexed window: that slice of the
    whole clip's normalised features (``read_window``), so a moment equal to a window encodes to its vector; a
    moment longer than the encoder's window is read as a clip that long is. -> (the query, None or the
    moment's (start, end), END cut to the clip's length)."""
    from lexmotion.data.features import WORKING_FPS
    if start is None and end is None:
        return clip, None
    feats = model.whole_features(clip)
    duration = len(feats) / WORKING_FPS
    a = 0.0 if start is None else float(start)
    b = duration if end is None else min(float(end), duration)
    if not 0 <= a < duration:
        raise LexmotionError(f"the moment's start must be from 0 to the clip's length ({duration:g} s), not {start}")
    if not b > a:
        raise LexmotionError(f"the moment's end must come after its start ({a:g} s), not {end}")
    patch = model.config.motion.patch_frames / WORKING_FPS
    if b - a < patch:       # longer than the encoder's window is fine: read as a clip is (a grown moment can be)
        raise LexmotionError(f"the moment must be at least one patch ({patch:g} s) long, not {b - a:g} s")
    return model.read_window(feats[round(a * WORKING_FPS):round(b * WORKING_FPS)]), (a, b)


def moment_label(name: str, span: tuple[float, float] | None) -> str:
    """How a query names a clip, or a moment of it (``moment_query``'s span): "ID [2-6 s]"."""
    return name if span is None else f"{name} [{span[0]:g}-{span[1]:g} s]"


def encode_collection(model, data_dir: str | Path, split: str | None = "test", texts: bool = False,
                      progress: bool = True, window: float | None = None,
                      stride: float | None = None, segments: bool = False) -> tuple[list[dict], object]:
    """-> (items [{id, texts}], raw vectors): (N, V) scipy CSR for a lexical model, a dense array for a dense one.
    ``texts``: the split's captions, one item each, instead of its motions. ``window`` (seconds): an item
    per window of each clip, every ``stride`` seconds (default half a window), with its start and end.
    ``segments``: an item per span of each clip between the points where its motion changes
    (``retrieval.segments``), with its start and end."""
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
        data = MotionTextDataset(ds, split, model.stats, model.served_frames, require_text=False,
                                 progress=progress)
        items = [{"id": r["id"], "texts": r["texts"]} for r in data.rows]
        feats = [r["features"] for r in data.rows]
        if window is not None or segments:
            from lexmotion.data.features import WORKING_FPS
            if segments:
                spans = [(item, f, a, b) for item, f in tqdm(list(zip(items, feats)), desc="finding where motions change",
                                                             leave=False, disable=not progress)
                         for a, b in cut.segments(model, f)]
            else:
                size, step = round(window * WORKING_FPS), max(1, round((stride or window / 2) * WORKING_FPS))
                spans = [(item, f, a, b) for item, f in zip(items, feats) for a, b in windows(len(f), size, step)]
            items = [{**item, "start": round(a / WORKING_FPS, 2), "end": round(b / WORKING_FPS, 2)}
                     for item, _, a, b in spans]
            feats = [model.read_window(f[a:b]) for _, f, a, b in spans]
        for start in tqdm(range(0, len(feats), 64), desc="encoding motions", leave=False, disable=not progress):
            vecs.append(keep(model.encode_motion(feats[start:start + 64])))
    return items, (sp.vstack(vecs).tocsr() if model.has_words else np.concatenate(vecs))


def build_index(model, model_path: str | Path, data_dir: str | Path, split: str | None = "test",
                backend: str = "faiss", texts: bool = False, progress: bool = True, window: float | None = None,
                stride: float | None = None, segments: bool = False):
    """Encode the collection with MODEL (the checkpoint at MODEL_PATH) and index it with BACKEND; with
    ``window``, windows of the clips, with ``segments``, the spans between where they change (see
    ``encode_collection``)."""
    check_windows(model, window, stride, texts, segments)
    from lexmotion.models.checkpoint import config_fingerprint, weights_fingerprint
    from lexmotion.models.querybank import clip_priors
    from retrieval.backend import backend_class
    from retrieval.index import INDEX_FORMAT, Index
    backend_class(backend).check(model.has_words)      # before the encoding, not after
    items, raw = encode_collection(model, data_dir, split, texts, progress, window, stride, segments)
    meta = {"lexmotion_version": __version__, "format": INDEX_FORMAT, "backend": backend,
            "kind": model.config.kind, "collection": "texts" if texts else "motions",
            "model_path": str(model_path), "model_sha1": weights_fingerprint(model_path),
            "model_config_sha1": config_fingerprint(model_path),
            "vocab_size": int(raw.shape[1]), "data": str(data_dir), "split": split, "n": len(items)}
    if window is not None:
        meta.update(window=window, stride=stride or window / 2)
    if segments:
        meta["segments"] = {"novelty_window_s": cut.NOVELTY_WINDOW_S, "novelty_step_s": cut.NOVELTY_STEP_S,
                            "peak_radius_s": cut.PEAK_RADIUS_S, "seconds": list(cut.SEGMENT_SECONDS)}
    if model.has_words:
        meta["thresholds"] = _thresholds(model_path)
    # a text query's ranking subtracts each whole clip's hub prior (lexmotion/models/querybank.py); windows have
    # none: a bank of whole clips' captions did not help rank moments (docs/results/querybank.md)
    bank = None if texts or window is not None or segments else getattr(model, "querybank", None)
    if bank is not None:
        for item, prior in zip(items, clip_priors(model, bank, raw)):
            item["prior"] = round(float(prior), 6)
        meta["querybank"] = {"beta": bank["beta"], "captions": len(bank["texts"])}
    return Index.create(meta, items, raw, progress)


def _thresholds(model_path) -> dict | None:
    """The checkpoint's calibrated word thresholds (retrieval/tagging.py), which decide the words an item
    shows (+word / -word, and the words that explain a hit); None for a checkpoint without them."""
    from lexmotion.models.thresholds import optional_thresholds
    t = optional_thresholds(model_path)
    return None if t is None else {"global": t["global"], "per_word": {str(k): v for k, v in t["per_word"].items()},
                                   "data": t["data"]}

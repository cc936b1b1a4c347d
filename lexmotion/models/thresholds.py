"""Motion words as a tagger decides them: per-word thresholds on a motion's weights, calibrated on held-back
captioned clips (``calibrate``), stored as ``thresholds.json`` in a checkpoint (``read_thresholds``).

A motion *shows* a word when its weight on the word is over the word's threshold. Calibration scores the
network's motion vectors of the calibration clips (the val split plus a seeded slice of train) against
their captions: for each word with enough positives (grouped by stem with every inflection the vocabulary
has, seen in the captions or not), the threshold with the best F1 on the largest of its inflections'
weights, for all of them; for every other word, one global threshold, the best F1 over all those
words' clips together. LexCMLP calibrates at its end; ``lexmotion tag --calibrate`` calibrates an older
checkpoint into a new folder; an index, ``+word`` / ``-word`` and ``lexmotion tag`` read them.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from lexmotion.errors import LexmotionError

THRESHOLDS = "thresholds.json"
HOLDOUT = 0.1            # the share of train clips calibration uses beside the val split


def word_groups(tokenizer, captions: list[list[str]], min_positives: int = 3,
                every_inflection: bool = False) -> dict[str, dict]:
    """stem -> {word (its most frequent token), ids (every inflection's token id), positives (N,) bool}.
    The ids are the inflections the captions use; with EVERY_INFLECTION, every whole word of the vocabulary
    with the stem too ("wave" beside the captions' "waves")."""
    from lexmotion.models.vocabulary import caption_word_ids, is_whole_word, stem_groups, word_stem
    groups: dict[str, dict] = defaultdict(lambda: {"ids": set(), "clips": set(), "count": defaultdict(int)})
    for n, texts in enumerate(captions):
        for text in texts:
            ids = caption_word_ids(tokenizer, text)
            for i, token in zip(ids, tokenizer.convert_ids_to_tokens(ids)):
                if not is_whole_word(token):
                    continue
                g = groups[word_stem(token)]
                g["ids"].add(i)
                g["clips"].add(n)
                g["count"][token] += 1
    kin = stem_groups(tokenizer)[0] if every_inflection else {}
    out = {}
    for stem, g in groups.items():
        more = kin.get(stem, [])           # the whole words among them (letters only), not "##" pieces
        g["ids"] |= {i for i, t in zip(more, tokenizer.convert_ids_to_tokens(more)) if t.isalpha() and t.isascii()}
        if len(g["clips"]) >= min_positives:
            positives = np.zeros(len(captions), dtype=bool)
            positives[sorted(g["clips"])] = True
            out[stem] = {"word": max(g["count"], key=g["count"].get), "ids": sorted(g["ids"]), "positives": positives}
    return out


def best_threshold(scores: np.ndarray, positives: np.ndarray) -> tuple[float, float]:
    """The threshold t on SCORES (a clip is tagged when its score > t) with the best F1; -> (t, F1)."""
    candidates = np.unique(scores[positives & (scores > 0)])
    best = (float("inf"), 0.0)
    for value in candidates:
        t = float(np.nextafter(value, -np.inf))          # just below a positive's score: it is tagged
        tagged = scores > t
        tp = float((tagged & positives).sum())
        f1 = 2 * tp / (tagged.sum() + positives.sum()) if tp else 0.0
        if f1 > best[1]:
            best = (t, f1)
    return best


def calibration_rows(ds, seed: int = 0) -> list[int]:
    """The val split plus a seeded HOLDOUT share of train: captioned clips the thresholds are chosen on."""
    splits = list(ds.table["split"])
    train = [i for i, s in enumerate(splits) if s == "train"]
    slice_ = sorted(np.random.default_rng(seed).choice(train, size=max(1, int(HOLDOUT * len(train))), replace=False)) \
        if train else []
    return sorted([i for i, s in enumerate(splits) if s == "val"] + [int(i) for i in slice_])


def calibrate(model, data_dirs, seed: int = 0, min_positives: int = 3, progress: bool = False) -> dict:
    """{"per_word": {token id: threshold}, "global": threshold, ...} from the calibration clips' captions of
    DATA_DIRS (one dataset folder, or several: their calibration clips together)."""
    import torch

    from lexmotion.data.batching import MotionTextDataset
    from lexmotion.data.dataset import MotionDataset
    data_dirs = [data_dirs] if isinstance(data_dirs, (str, Path)) else list(data_dirs)
    rows_of = []
    for data_dir in data_dirs:
        ds = MotionDataset(data_dir)
        keep = set(calibration_rows(ds, seed))
        items = MotionTextDataset(ds, None, model.stats, model.served_frames, progress=progress)
        rows_of += [r for r in items.rows if r["index"] in keep]
    if len(rows_of) < 2 * min_positives:
        raise LexmotionError(f"{', '.join(map(str, data_dirs))}: {len(rows_of)} captioned val / held-back clips; "
                             f"calibration needs at least {2 * min_positives}")
    with torch.no_grad():
        network = torch.cat([model.motion_lexical(*model.served_batch([r["features"] for r in rows_of[i:i + 64]]),
                                                  prune=False).float().cpu() for i in range(0, len(rows_of), 64)]).numpy()
    # a word's threshold holds for all its inflections: Bandai's captions say "waves", its labels "wave"
    groups = word_groups(model.tokenizer, [r["texts"] for r in rows_of], 1, every_inflection=True)
    per_word = {}
    rest = np.zeros(network.shape, dtype=bool)      # every other word: its clips' captions, if any, hold it
    for g in groups.values():
        if g["positives"].sum() >= min_positives:
            t, _ = best_threshold(network[:, g["ids"]].max(axis=1), g["positives"])
            per_word.update({int(i): t for i in g["ids"]})
        else:
            rest[:, g["ids"]] = g["positives"][:, None]
    others = np.ones(network.shape[1], dtype=bool)
    others[list(per_word)] = False
    # one threshold for the rest, over all their weights: a word no calibration caption holds counts against it
    global_t, _ = best_threshold(network[:, others].ravel(), rest[:, others].ravel())
    if not np.isfinite(global_t):
        global_t = float(network.max())             # no rare word ever right: tag none of them
    return {"per_word": per_word, "global": float(global_t), "clips": len(rows_of), "data": [str(d) for d in data_dirs],
            "seed": seed, "min_positives": min_positives,
            "how": "val split + a seeded 10% of train; per word (stem group: every vocabulary inflection) the "
                   "best-F1 threshold on its largest inflection weight"}


def read_thresholds(model_path) -> dict:
    from lexmotion.files import read_json
    from lexmotion.models.hub import local_checkpoint
    path = local_checkpoint(model_path) / THRESHOLDS
    if not path.is_file():
        raise LexmotionError(f"{model_path}: has no calibrated thresholds; make a calibrated copy with "
                             f"`lexmotion tag --calibrate --model {model_path} --data DIR --out NEW_CKPT`")
    t = read_json(path)
    return {"per_word": {int(k): float(v) for k, v in t["per_word"].items()}, "global": float(t["global"]),
            "data": [str(d) for d in t.get("data", [])]}


def calibrated_on(thresholds: dict) -> str:
    """Where THRESHOLDS (``read_thresholds``, or an index's copy) were calibrated, for a message."""
    return ", ".join(map(str, thresholds.get("data", []))) or "other data"


def optional_thresholds(model_path) -> dict | None:
    """``read_thresholds``, or None for a checkpoint calibrated never (an older one): for readers that work
    either way, where ``tag`` needs them and says how to make them. A damaged file is still one line."""
    from lexmotion.models.hub import local_checkpoint
    return read_thresholds(model_path) if (local_checkpoint(model_path) / THRESHOLDS).is_file() else None


def word_limits(thresholds: dict, size: int) -> np.ndarray:
    """(SIZE,) the weight over which a motion shows each word, from thresholds (``read_thresholds``, or an
    index's copy with the word ids as strings): a word's own threshold, else the global one; never below 0,
    so a word a motion weighs 0 is never shown."""
    limits = np.full(size, max(float(thresholds["global"]), 0.0))
    for word, value in thresholds["per_word"].items():
        limits[int(word)] = max(float(value), 0.0)
    return limits

"""Motion-text examples and the one collate function.

Batches are dicts with fixed keys:
  motion (B, T, F) normalised features at 20 fps, zero-padded;
  mask (B, T) bool of real frames; lengths (B,);
  texts (list of B captions); ids (list of B clip ids); index (B,) row indices;
  text_ids / text_mask (B, L) when the collate has a tokenizer;
  with mirror pairs (training items that carry one): pair_of (P,) the batch row of each pair, pair_motion /
  pair_mask (P, T', F) / (P, T') the mirror image of that row's crop, pair_texts its caption with the sides
  swapped, and pair_text_ids / pair_text_mask when tokenised.
"""
from __future__ import annotations

import numpy as np
import torch

from lexmotion.data.dataset import MotionDataset
from lexmotion.data.features import (
    body_frame,
    crop_frame,
    crops_of,
    frame_of,
    mirror_features,
    mirror_text,
    part_features,
)
from lexmotion.errors import LexmotionError


def normalise(features: np.ndarray, stats: dict) -> np.ndarray:
    """Part features -> the model's input: read in the frame STATS name (``frame_of``), then standardised."""
    if frame_of(stats) == "body":
        features = body_frame(features)
    return (features - np.asarray(stats["mean"], dtype=np.float32)) / np.asarray(stats["std"], dtype=np.float32)


def read_crop(features: np.ndarray, stats: dict) -> np.ndarray:
    """Normalised features of a crop of a longer clip, read as STATS say crops are (``crops_of``)."""
    return as_own_clip(features, stats) if crops_of(stats) == "own" else features


def as_own_clip(features: np.ndarray, stats: dict) -> np.ndarray:
    """Normalised features of a slice of a clip (a window, a crop) -> those of the same frames given as a clip
    of their own (``crop_frame``), as an upload of them would be read. In the body frame nothing depends on
    where a slice starts, so body-frame features stay as they are."""
    if frame_of(stats) == "body" or not len(features):
        return features
    mean, std = np.asarray(stats["mean"], dtype=np.float32), np.asarray(stats["std"], dtype=np.float32)
    return (crop_frame(features * std + mean) - mean) / std


class MotionTextDataset(torch.utils.data.Dataset):
    """Features of one split, computed once. Training draws a random caption, a random crop of at most
    ``max_frames`` (read as the statistics say, ``read_crop``), with ``mirror_prob`` the mirrored clip with its
    left/right words swapped, and one of ``speeds`` (the clip replayed that much faster; 1.0 as captured). Evaluation
    takes the first caption and a centred crop (the whole clip with ``max_frames`` None: a model's
    ``served_frames`` for ``long_motion`` "windows").

    With ``mirror_pairs`` a training item whose drawn caption names a side (``mirror_text`` changes it) also
    carries its "pair": the mirror image of the same crop, with the caption's sides swapped."""

    def __init__(self, data: MotionDataset, split: str | None, stats: dict | None = None,
                 max_frames: int | None = 200, train: bool = False, mirror_prob: float = 0.0,
                 require_text: bool = True, progress: bool = False, sources: tuple[str, ...] | None = None,
                 speeds: tuple[float, ...] = (1.0,), mirror_pairs: bool = False):
        """``sources``: keep only the captions of these sources (the text_sources column); None keeps all."""
        if not speeds or any(not s > 0 for s in speeds):
            raise LexmotionError(f"speeds are playback rates above 0, got {list(speeds)}")
        from tqdm.auto import tqdm

        self.data, self.train, self.max_frames = data, train, max_frames
        self.mirror_prob = mirror_prob if train else 0.0
        self.mirror_pairs = mirror_pairs and train
        self.speeds = tuple(float(s) for s in speeds) if train else (1.0,)
        self.stats = stats or data.stats
        self.rows = []
        indices = data.split_indices(split)
        text_sources = data.text_sources() if sources is not None else None
        for index in tqdm(indices, desc=f"features ({split or 'all'})", unit="clip", leave=False,
                          disable=not progress or len(indices) < 100):
            row = data.row(index)
            if text_sources is not None:
                row["texts"] = [t for t, src in zip(row["texts"], text_sources[index]) if src in sources]
            if require_text and not row["texts"]:
                continue
            skeleton = data.skeleton(row["skeleton"])
            # Each speed is features of its own: the velocities must be those of the replayed clip.
            variants = {s: self._views(part_features(row["joints"], float(row["fps"]) * s, skeleton))
                        for s in dict.fromkeys((1.0, *self.speeds))}
            item = {"index": index, "id": row["id"], "texts": row["texts"], "features": variants[1.0][0]}
            if self._mirrors:
                item["mirrored"] = variants[1.0][1]
            if self.speeds != (1.0,):
                item["variants"] = [variants[s] for s in self.speeds]
            self.rows.append(item)
        if not self.rows:
            where = "in any split" if split is None else f"in split {split!r}"
            raise LexmotionError(f"{data.path}: no captioned clip {where}; this command needs captions "
                                 "(a BVH folder gets them from its captions.jsonl)")

    def _views(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(normalised features, their mirror image's, or None without mirroring)."""
        mirrored = normalise(mirror_features(features), self.stats) if self._mirrors else None
        return normalise(features, self.stats), mirrored

    @property
    def _mirrors(self) -> bool:
        return self.mirror_prob > 0 or self.mirror_pairs

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict:
        row = self.rows[i]
        views = (row["features"], row.get("mirrored")) if "variants" not in row \
            else row["variants"][int(torch.randint(len(row["variants"]), ()))]
        texts = row["texts"]
        flipped = self.mirror_prob > 0 and bool(torch.rand(()) < self.mirror_prob)
        if flipped:
            views, texts = views[::-1], [mirror_text(t) for t in texts]
        features = views[0]
        T, start = len(features), 0
        cropped = self.max_frames is not None and T > self.max_frames
        if cropped:
            start = int(torch.randint(T - self.max_frames + 1, ())) if self.train else (T - self.max_frames) // 2
            features = read_crop(features[start:start + self.max_frames], self.stats)
        text = texts[int(torch.randint(len(texts), ()))] if self.train and texts else (texts[0] if texts else "")
        item = {"motion": torch.from_numpy(np.ascontiguousarray(features)), "text": text, "id": row["id"],
                "index": row["index"]}
        if self.mirror_pairs and mirror_text(text) != text:
            mirrored = read_crop(views[1][start:start + self.max_frames], self.stats) if cropped else views[1]
            item["pair"] = {"motion": torch.from_numpy(np.ascontiguousarray(mirrored)), "text": mirror_text(text)}
        return item


def pad_motions(motions: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(T_i, F) tensors -> zero-padded (B, T, F), mask (B, T) of real frames, lengths (B,)."""
    lengths = torch.tensor([len(m) for m in motions])
    motion = torch.zeros(len(motions), int(lengths.max()), motions[0].shape[-1])
    for b, m in enumerate(motions):
        motion[b, : len(m)] = m
    return motion, torch.arange(motion.shape[1])[None] < lengths[:, None], lengths


class Collate:
    """Pads motions and (optionally) tokenises texts into one batch dict."""

    def __init__(self, tokenizer=None, max_text_len: int = 40):
        self.tokenizer, self.max_text_len = tokenizer, max_text_len

    def tokenize_only(self, items: list[dict]) -> dict:
        """Text-only batches (LexMLM): texts, text_ids, text_mask."""
        texts = [it["text"] for it in items]
        tok = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_text_len, return_tensors="pt")
        return {"texts": texts, "text_ids": tok["input_ids"], "text_mask": tok["attention_mask"].bool()}

    def __call__(self, items: list[dict]) -> dict:
        motion, mask, lengths = pad_motions([it["motion"] for it in items])
        batch = {"motion": motion, "mask": mask, "lengths": lengths, "texts": [it["text"] for it in items], "ids": [it["id"] for it in items],
                 "index": torch.tensor([it["index"] for it in items])}
        if self.tokenizer is not None:
            text = self.tokenize_only(items)
            batch["text_ids"], batch["text_mask"] = text["text_ids"], text["text_mask"]
        paired = [(b, it["pair"]) for b, it in enumerate(items) if "pair" in it]
        if paired:
            batch["pair_of"] = torch.tensor([b for b, _ in paired])
            batch["pair_motion"], batch["pair_mask"], _ = pad_motions([p["motion"] for _, p in paired])
            batch["pair_texts"] = [p["text"] for _, p in paired]
            if self.tokenizer is not None:
                text = self.tokenize_only([{"text": p["text"]} for _, p in paired])
                batch["pair_text_ids"], batch["pair_text_mask"] = text["text_ids"], text["text_mask"]
        return batch

"""Captioning examples: features computed once per clip, captions as word ids and rule targets.

Clips longer than ``max_frames`` (at 20 fps) keep their centre ``max_frames`` frames.
Training visits every (clip, caption) pair once per epoch; with ``mirror_prob`` a
pair is served mirrored (joints reflected, left/right words swapped).
"""
from __future__ import annotations

import numpy as np
import torch

from captioning.rules import load_rules, target_arrays
from captioning.text import Vocabulary, normalise_caption, words
from lexmotion.data.batching import normalise, pad_motions
from lexmotion.data.dataset import MotionDataset
from lexmotion.data.features import (
    check_joints,
    mirror_joints,
    mirror_text,
    part_features,
)
from lexmotion.errors import LexmotionError

MAX_FRAMES = 400      # 20 s at 20 fps
MAX_WORDS = 30


def centre_crop(features: np.ndarray, max_frames: int = MAX_FRAMES) -> np.ndarray:
    if len(features) <= max_frames:
        return features
    start = (len(features) - max_frames) // 2
    return features[start:start + max_frames]


def clip_features(joints, fps: float, skeleton, stats: dict, source: str = "motion") -> np.ndarray:
    """Validated joints -> normalised, cropped (T, 105) features (raises LexmotionError on bad input)."""
    joints = check_joints(joints, source, skeleton)
    return centre_crop(normalise(part_features(joints, fps, skeleton), stats))


def holdout(data: MotionDataset, split: str, fraction: float) -> tuple[list[int], list[int]]:
    """Split ``split``'s clips into (kept, held out), holding out about ``fraction`` of them.

    The choice depends only on the clip ids (a CRC of the group's first id), so every seed
    and every captioner holds out the same clips. Captures of one motion (kitml-cmu's
    ``same_motion_as``) stay together, so nothing held out has a twin in training."""
    import zlib
    indices = data.split_indices(split)
    ids, metas = data.table["id"], data.metas()
    group = {ids[i]: ids[i] for i in indices}

    def root(x):
        while group[x] != x:
            x = group[x]
        return x
    for i in indices:                       # union of each clip with its twins in the split
        for twin in metas[i].get("same_motion_as", []):
            if twin in group:
                a, b = sorted((root(ids[i]), root(twin)))
                group[b] = a
    held = {i for i in indices if zlib.crc32(root(ids[i]).encode()) % 10_000 < fraction * 10_000}
    return [i for i in indices if i not in held], sorted(held)


def selection_split(data: MotionDataset, val_split: str, fraction: float) -> tuple[list[int], list[int]]:
    """(the training clips a captioner trains on, its selection set: ``val_split`` plus the held-out
    slice of train; a clip is never in both lists, even with ``val_split`` = train)."""
    kept, held = holdout(data, "train", fraction)
    return kept, list(dict.fromkeys(data.split_indices(val_split) + held))


class CaptionExamples(torch.utils.data.Dataset):
    """The captioned clips of ``split`` (or of the dataset rows ``indices``), features computed once."""

    def __init__(self, data: MotionDataset, split: str, stats: dict, vocab: Vocabulary | None = None,
                 train: bool = False, mirror_prob: float = 0.0, indices: list[int] | None = None):
        self.vocab, self.train = vocab, train
        self.mirror_prob = mirror_prob if train else 0.0
        self.clips, self.skipped = [], []
        for index in data.split_indices(split) if indices is None else indices:
            row = data.row(index)
            texts = [t for t in row["texts"] if normalise_caption(t)]
            if not texts:
                continue
            skeleton = data.skeleton(row["skeleton"])
            try:
                feats = clip_features(row["joints"], float(row["fps"]), skeleton, stats, row["id"])
            except LexmotionError as err:
                self.skipped.append(str(err))
                continue
            clip = {"id": row["id"], "index": index, "texts": texts, "features": feats, "meta": row["meta"]}
            if self.mirror_prob > 0:
                clip["mirrored"] = centre_crop(normalise(part_features(
                    mirror_joints(row["joints"], skeleton), float(row["fps"]), skeleton), stats))
            self.clips.append(clip)
        if not self.clips:
            raise LexmotionError(f"{data.path}: no usable captioned clip in split {split!r}")
        self.cache: list[dict] | None = None        # frozen-encoder memory per clip (see cache_memory)
        self.pairs = [(c, t) for c in range(len(self.clips)) for t in range(len(self.clips[c]["texts"]))]

    def lengths(self) -> list[int]:
        """Frames of each item (training: of each pair's clip)."""
        if self.train:
            return [len(self.clips[c]["features"]) for c, _ in self.pairs]
        return [len(c["features"]) for c in self.clips]

    def all_captions(self) -> list[str]:
        """Every caption, with the mirrored versions when mirroring is on (vocabulary building)."""
        out = [t for c in self.clips for t in c["texts"]]
        return out + [mirror_text(t) for t in out] if self.mirror_prob > 0 else out

    def __len__(self) -> int:
        return len(self.pairs) if self.train else len(self.clips)

    def cache_memory(self, encoder, device="cpu") -> None:
        """Run a frozen lexical encoder once over every clip (and its mirrored copy); items then
        carry its outputs as ``memory`` and training never re-runs it."""
        from captioning.encoders import cache_memory
        plain = cache_memory(encoder, [c["features"] for c in self.clips], device=device)
        mirrored = (cache_memory(encoder, [c["mirrored"] for c in self.clips], device=device)
                    if self.mirror_prob > 0 else [None] * len(self.clips))
        self.cache = list(zip(plain, mirrored))

    def _item(self, clip_i: int, text: str, mirrored: bool = False) -> dict:
        clip = self.clips[clip_i]
        features = clip["mirrored"] if mirrored else clip["features"]
        item = {"motion": torch.from_numpy(np.ascontiguousarray(features)), "text": text,
                "refs": clip["texts"], "id": clip["id"], "clip": clip_i}
        if self.cache is not None:
            item["memory"] = self.cache[clip_i][1 if mirrored else 0]
        return item

    def __getitem__(self, i: int) -> dict:
        if not self.train:
            return self._item(i, self.clips[i]["texts"][0])
        c, t = self.pairs[i]
        if self.mirror_prob > 0 and torch.rand(()) < self.mirror_prob:
            return self._item(c, mirror_text(self.clips[c]["texts"][t]), mirrored=True)
        return self._item(c, self.clips[c]["texts"][t])


def length_batches(lengths: list[int], batch_size: int, seed: int, epoch: int, pool: int = 20) -> list[list[int]]:
    """Shuffled batches of similar lengths: shuffle, sort within pools of ``pool`` batches,
    cut into batches, shuffle the batches. Less padding, same examples every epoch."""
    g = torch.Generator().manual_seed(seed * 1009 + epoch)
    order = torch.randperm(len(lengths), generator=g).tolist()
    batches = []
    for start in range(0, len(order), pool * batch_size):
        chunk = sorted(order[start:start + pool * batch_size], key=lambda i: lengths[i])
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=g).tolist()]


class CaptionCollate:
    """Pads motions; with a vocabulary also makes teacher-forcing inputs, targets and rule targets."""

    def __init__(self, vocab: Vocabulary | None = None, rules=None):
        self.vocab, self.rules = vocab, rules or load_rules()

    def __call__(self, items: list[dict]) -> dict:
        motion, mask, _ = pad_motions([it["motion"] for it in items])
        batch = {"motion": motion, "mask": mask,
                 "refs": [it["refs"] for it in items], "ids": [it["id"] for it in items],
                 "clip": [it["clip"] for it in items]}
        if "memory" in items[0]:
            from captioning.encoders import pad_memory
            batch["memory"] = pad_memory([it["memory"] for it in items])
        if self.vocab is None:
            return batch
        seqs = [self.vocab.encode(it["text"], MAX_WORDS) for it in items]
        n = max(len(s) for s in seqs) - 1
        tokens = torch.full((len(items), n + 1), self.vocab.pad)
        beta = torch.zeros(len(items), n)
        beta_known = torch.zeros(len(items), n, dtype=torch.bool)
        parts = torch.zeros(len(items), n, 6)
        parts_known = torch.zeros(len(items), n, dtype=torch.bool)
        for b, (seq, it) in enumerate(zip(seqs, items)):
            tokens[b, :len(seq)] = torch.tensor(seq)
            ws = words(it["text"])[:MAX_WORDS]
            if ws:
                bt, bk, pt, pk = target_arrays(ws, self.rules)
                beta[b, :len(ws)] = torch.tensor(bt)
                beta_known[b, :len(ws)] = torch.tensor(bk)
                parts[b, :len(ws)] = torch.tensor(pt)
                parts_known[b, :len(ws)] = torch.tensor(pk)
        batch.update({"inputs": tokens[:, :-1], "targets": tokens[:, 1:], "beta": beta, "beta_known": beta_known,
                      "parts": parts, "parts_known": parts_known})
        return batch

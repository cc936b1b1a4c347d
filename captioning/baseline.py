"""The nearest-caption baseline: caption a motion with the training caption that a retrieval
model ranks first for it.

Any retrieval checkpoint works, lexical or dense. The motions of the evaluated split are
encoded as retrieval evaluation encodes them (the model's statistics, a centred crop of its
``max_frames``); the candidates are the distinct captions of the training split, each
encoded once. A captioner has to beat this to say more than a lookup would.
"""
from __future__ import annotations

import torch

from captioning.consensus import CiderD, consensus_choice
from lexmotion.data.dataset import MotionDataset
from lexmotion.errors import LexmotionError

MIN_WORD_COVERAGE = 0.5     # share of the data's caption words the motion side must be able to say


def check_matches_data(model, data: MotionDataset, path: str, motions: bool = True) -> None:
    """Refuse, in one line, a checkpoint trained for other data: another feature layout, or a
    motion vocabulary missing most of the data's caption words. A skeleton its training data did not
    have is read, as every evaluation reads it (``untrained_skeletons`` names it). ``motions`` False:
    only the captions of DATA are used (a caption pool), so only the vocabulary is checked."""
    if motions:
        _check_motions(model, data, path)
    if model.has_words:
        from lexmotion.models.vocabulary import caption_word_ids
        ids = {i for t in _captions(data, "train") for i in caption_word_ids(model.tokenizer, t)}
        if ids:
            sayable = model.motion_mask.cpu()[sorted(ids)].bool().float().mean().item()
            if sayable < MIN_WORD_COVERAGE:
                raise LexmotionError(f"{path}: its motion vocabulary holds only {sayable:.0%} of the caption words "
                                     f"of {data.path}; it was trained for other data")


def _check_motions(model, data: MotionDataset, path: str) -> None:
    ours, theirs = (data.stats or {}).get("layout"), (model.stats or {}).get("layout")
    if ours and theirs and ours != theirs:
        raise LexmotionError(f"{path}: its motion features are laid out differently from {data.path}'s "
                             f"(another lexmotion feature version); it cannot read this data")


def untrained_skeletons(model, data: MotionDataset) -> list[str]:
    """The skeletons of DATA that none of the checkpoint's training datasets had (empty when unknown)."""
    trained = _trained_skeletons(model)
    return sorted(set(data.meta.get("skeletons", {})) - trained) if trained else []


def _trained_skeletons(model) -> set[str]:
    """Skeleton names of the datasets in a checkpoint's provenance, where those folders still exist."""
    import json
    from pathlib import Path
    names: set[str] = set()
    for entry in (getattr(model, "provenance", None) or {}).get("data", []):
        meta = Path(entry.get("path", "")) / "lexmotion.json"
        if meta.is_file():
            names |= set(json.loads(meta.read_text()).get("skeletons", {}))
    return names


def _captions(data: MotionDataset, split: str, indices: list[int] | None = None) -> list[str]:
    from captioning.text import normalise_caption
    texts = data.table["texts"]
    return [t for i in (data.split_indices(split) if indices is None else indices) for t in texts[i]
            if normalise_caption(t)]


def nearest_captions(model, data: MotionDataset, split: str, indices: list[int], pool_split: str = "train",
                     batch_size: int = 64) -> list[str]:
    """For each row ``indices`` of ``split``, the ``pool_split`` caption its motion ranks first."""
    return [n[0] for n in neighbour_captions(model, data, split, indices, 1, pool_split, batch_size)]


def consensus_captions(model, data: MotionDataset, split: str, indices: list[int], k: int,
                       pool_split: str = "train") -> list[str]:
    """For each row, among the ``k`` ``pool_split`` captions its motion ranks first, the one the other
    ``k - 1`` agree with most (CIDEr-D; ``captioning.consensus.consensus_choice``)."""
    near = neighbour_captions(model, data, split, indices, k, pool_split)
    cider = CiderD(list(dict.fromkeys(_captions(data, pool_split))))
    return [n[a] for n, a in zip(near, consensus_choice(near, near, cider))]


@torch.no_grad()
def caption_pool(model, data: MotionDataset, split: str = "train",
                 indices: list[int] | None = None) -> tuple[list[str], torch.Tensor]:
    """The distinct captions of ``split`` (or of the rows ``indices``) and their text vectors,
    L2-normalised, dense (captions x dim)."""
    pool = list(dict.fromkeys(_captions(data, split, indices)))
    if not pool:
        raise LexmotionError(f"{data.path}: no caption in split {split!r} to copy")
    model.eval()
    text = model.encode_text(pool)
    return pool, torch.nn.functional.normalize((text.to_dense() if text.is_sparse else text).float(), dim=-1)


@torch.no_grad()
def neighbour_captions(model, data: MotionDataset, split: str, indices: list[int], k: int, pool_split: str = "train",
                       batch_size: int = 64) -> list[list[str]]:
    """For each row ``indices`` of ``split``, the ``k`` ``pool_split`` captions its motion ranks first."""
    from lexmotion.data.batching import Collate, MotionTextDataset

    pool, text = caption_pool(model, data, pool_split)
    items = MotionTextDataset(data, split, model.stats, model.config.motion.max_frames)
    by_index = {r["index"]: r for r in items.rows}
    missing = [i for i in indices if i not in by_index]
    if missing:
        raise LexmotionError(f"{data.path}: clip {data.table['id'][missing[0]]} has no readable motion")
    items.rows = [by_index[i] for i in indices]
    collate = Collate()
    model.eval()
    motions = []
    for i in range(0, len(items.rows), batch_size):
        batch = collate([items[j] for j in range(i, min(i + batch_size, len(items.rows)))])
        motions.append(model.motion_vectors(batch["motion"].to(model.device), batch["mask"].to(model.device)).float())
    motion = torch.nn.functional.normalize(torch.cat(motions), dim=-1)
    return ranked(pool, motion @ text.to(motion.device).T, k)


def ranked(pool: list[str], scores: torch.Tensor, k: int) -> list[list[str]]:
    """Per row of (queries x pool) scores, the ``k`` best captions, best first; a tie goes to the
    earlier caption (a stable sort: clips with an all-zero vector all get the pool's first)."""
    order = scores.sort(dim=1, descending=True, stable=True).indices[:, :k]
    return [[pool[j] for j in row] for row in order.tolist()]

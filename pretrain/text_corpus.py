"""The LexMLM caption corpus: real captions only.

kitml-text's training captions (TMR split; ids that are in a dataset's val or
test split are left out, mirrored "M" copies included) plus the human training
captions of the datasets in use (label-derived captions are left out).
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from lexmotion.errors import LexmotionError


class TextCorpus(torch.utils.data.Dataset):
    def __init__(self, captions: list[str]):
        if not captions:
            raise LexmotionError("the caption corpus is empty")
        self.captions = captions

    def __len__(self):
        return len(self.captions)

    def __getitem__(self, i):
        return {"text": self.captions[i]}


def kitml_text_captions(root: str | Path, exclude_ids: set[str] = frozenset()) -> list[str]:
    """Training captions of a kitml-text folder (annotations.json + splits/train.txt)."""
    root = Path(root)
    ann_file, split_file = root / "annotations.json", root / "splits" / "train.txt"
    for f in (ann_file, split_file):
        if not f.is_file():
            raise LexmotionError(f"{f}: missing (a kitml-text folder has annotations.json and splits/train.txt)")
    annotations = json.loads(ann_file.read_text())
    captions = []
    for clip_id in split_file.read_text().split():
        if clip_id.lstrip("M") in exclude_ids or clip_id not in annotations:
            continue
        captions += [a["text"].strip() for a in annotations[clip_id]["annotations"] if a["text"].strip()]
    return captions


def load_caption_corpus(corpus_dirs: list[str], datasets, held_out_from=(), sources=None) -> list[str]:
    """kitml-text's training captions and the human training captions of DATASETS. Captions of any
    val or test clip of DATASETS or of HELD_OUT_FROM (every dataset of the run) are left out.
    ``sources``: per dataset, the caption sources to take (None: all)."""
    held_out = {i for d in (*datasets, *held_out_from) for i, s in zip(d.table["id"], d.table["split"])
                if s in ("val", "test")}
    captions = []
    for root in corpus_dirs:
        captions += kitml_text_captions(root, held_out)
    for d, wanted in zip(datasets, sources or [None] * len(datasets)):
        # Label-derived captions (Bandai) are templates, not language: they stay out of LexMLM.
        rows = zip(d.table["texts"], d.text_sources(), d.table["split"], d.table["caption_source"], d.table["id"])
        for texts, text_sources, split, source, clip_id in rows:
            if split == "train" and source == "human" and clip_id not in held_out:
                captions += [t for t, src in zip(texts, text_sources) if t.strip() and (wanted is None or src in wanted)]
    return captions


def vocabulary_corpus(corpus_dirs: list[str], datasets) -> list[str]:
    """Captions that define the domain vocabulary and IDF: the LexMLM corpus plus the
    label-derived training captions (Bandai's words must be sayable by its motions too)."""
    captions = load_caption_corpus(corpus_dirs, datasets)
    for d in datasets:
        for texts, split, source in zip(d.table["texts"], d.table["split"], d.table["caption_source"]):
            if split == "train" and source != "human":
                captions += [t for t in texts if t.strip()]
    return captions

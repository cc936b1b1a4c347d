"""Caption text: the one normalisation every captioner and metric uses, and the word vocabulary.

Normalisation (declared once, applied to training targets, references and
predictions alike): lower-case; every character that is not a letter, digit or
apostrophe becomes a space ("counter-clockwise" -> "counter clockwise",
"90°" -> "90"); apostrophes are dropped; runs of spaces collapse.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from lexmotion.errors import LexmotionError

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)
_NON_WORD = re.compile(r"[^a-z0-9']+")


def normalise_caption(text: str) -> str:
    return " ".join(_NON_WORD.sub(" ", text.lower()).replace("'", "").split())


def words(text: str) -> list[str]:
    return normalise_caption(text).split()


class Vocabulary:
    """Words of the training captions seen at least ``min_count`` times, plus <pad> <bos> <eos> <unk>."""

    def __init__(self, itos: list[str]):
        if list(itos[:len(SPECIALS)]) != list(SPECIALS):
            raise LexmotionError(f"a caption vocabulary starts with {SPECIALS}, got {itos[:4]}")
        self.itos = list(itos)
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        self.pad, self.bos, self.eos, self.unk = (self.stoi[s] for s in SPECIALS)

    @classmethod
    def build(cls, captions, min_count: int = 2) -> Vocabulary:
        counts = Counter(w for c in captions for w in words(c))
        kept = sorted(w for w, n in counts.items() if n >= min_count)
        return cls(list(SPECIALS) + kept)

    def __len__(self) -> int:
        return len(self.itos)

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocabulary) and self.itos == other.itos

    def encode(self, text: str, max_len: int | None = None) -> list[int]:
        """<bos> w1 ... wn <eos> (words truncated to ``max_len``)."""
        ids = [self.stoi.get(w, self.unk) for w in words(text)]
        if max_len is not None:
            ids = ids[:max_len]
        return [self.bos] + ids + [self.eos]

    def decode(self, ids) -> list[str]:
        """Word list up to the first <eos>, special tokens removed."""
        out = []
        for i in ids:
            i = int(i)
            if i == self.eos:
                break
            if i >= len(SPECIALS):
                out.append(self.itos[i])
        return out

    def to_dict(self) -> dict:
        return {"itos": self.itos}

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        from lexmotion.files import read_json
        return cls(read_json(path)["itos"])

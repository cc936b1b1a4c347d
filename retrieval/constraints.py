"""Keyword constraints of a lexical search, written inside the query.

``+word``: every hit must carry the word: the motion's weight on it is over the word's calibrated
threshold (``lexmotion tag --calibrate``; new checkpoints have them from LexCMLP), or > 0 in an index
whose model has none; ``-word``: no hit may carry it. "a person kicks +left -jump" searches with "a person kicks"
and keeps only motions whose vectors hold "left" and not "jump". A constraint is one word
of the model's vocabulary (one WordPiece); the rest of the query is the description.

The constraints become one boolean mask over the index's items, taken from the items'
sparse vectors by column (no re-encoding), which the backends apply inside the search:
the exact ones mask the scores, the clustered ``sparse-ivf`` skips disallowed members while
it scores, FAISS takes it as an ID selector. Each constraint reports how many items it
removes on its own.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from lexmotion.errors import EmptyQueryError

# a + or - that opens a whitespace-separated token, then the word
_CONSTRAINT = re.compile(r"(?:^|(?<=\s))([+-])([^\s+-]\S*)")


@dataclass
class Constraint:
    sign: str            # "+": must carry, "-": must not carry
    word: str
    word_id: int
    removed: int = 0     # items of the index this constraint alone removes

    def __str__(self) -> str:
        return f"{self.sign}{self.word}"

    def to_dict(self) -> dict:
        return {"constraint": str(self), "word_id": self.word_id, "removed": self.removed}


def split_query(query: str) -> tuple[str, list[tuple[str, str]]]:
    """'a person kicks +left -jump' -> ('a person kicks', [('+', 'left'), ('-', 'jump')])."""
    found = [(m.group(1), m.group(2)) for m in _CONSTRAINT.finditer(query)]
    return " ".join(_CONSTRAINT.sub(" ", query).split()), found


def resolve(found: list[tuple[str, str]], tokenizer) -> list[Constraint]:
    """Each (sign, word) as a vocabulary id; a word that is not one WordPiece is refused in one line."""
    from lexmotion.models.vocabulary import vocabulary_word
    return [Constraint(sign, *vocabulary_word(tokenizer, word, sign)) for sign, word in found]


def allowed_items(by_word, constraints: list[Constraint], limits: np.ndarray | None = None) -> np.ndarray:
    """by_word: (N, V) scipy CSC of the items' vectors -> (N,) True where every constraint holds; an item
    carries a word when its weight is over LIMITS (V,) (the calibrated thresholds), or over 0 without them.
    Sets each constraint's ``removed``."""
    allowed = np.ones(by_word.shape[0], dtype=bool)
    for c in constraints:
        start, end = by_word.indptr[c.word_id], by_word.indptr[c.word_id + 1]
        carries = np.zeros(by_word.shape[0], dtype=bool)
        limit = 0.0 if limits is None else max(float(limits[c.word_id]), 0.0)
        carries[by_word.indices[start:end][by_word.data[start:end] > limit]] = True
        keep = carries if c.sign == "+" else ~carries
        c.removed = int((~keep).sum())
        allowed &= keep
    return allowed


def parse(query: str, tokenizer) -> tuple[str, list[Constraint]]:
    """The description and the resolved constraints of a query."""
    text, found = split_query(query)
    constraints = resolve(found, tokenizer)
    if constraints and not text:
        raise EmptyQueryError(f"the query {query[:60]!r} has constraints but no description: add one, e.g. "
                              f"\"a person kicks {' '.join(map(str, constraints))}\"")
    return text, constraints


def describe(constraints: list[Constraint], n_items: int, thresholds: dict | None) -> str:
    """One line: what each constraint removed (and, for an index without calibrated THRESHOLDS, what a word then
    means; where a +word removed every item, where the thresholds came from)."""
    line = "constraints: " + ", ".join(f"{c} removed {c.removed} of {n_items} items" for c in constraints)
    if not thresholds:
        line += (" (this index's model has no calibrated thresholds, so a motion carries any word it weighs > 0; "
                 "calibrate it with `lexmotion tag --calibrate` and rebuild the index)")
    elif any(c.sign == "+" and c.removed == n_items > 0 for c in constraints):
        # Thresholds set on one archive's captions can sit above every motion of another capture.
        from lexmotion.models.thresholds import calibrated_on
        line += (f" (no item shows a +word over its threshold, calibrated on {calibrated_on(thresholds)}; for motions "
                 "unlike those, calibrate on labelled clips of your own with `lexmotion tag --calibrate` and rebuild "
                 "the index)")
    return line

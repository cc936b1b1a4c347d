"""Vocabulary priors of the lexical space, and the caption words a vector should carry.

Three masks over the text model's WordPiece vocabulary (all (V,) floats, 1 = allowed):
- ``vocabulary_mask``: every entry but special tokens and BERT's [unusedN] slots (the
  original space, kept for checkpoints trained on it);
- ``clean_vocabulary_mask``: real words only: no stop words or subjects, digits,
  punctuation, single letters or [unusedN]. Text vectors live here, so an unseen query
  ("a person juggles") keeps its own verb;
- ``domain_vocabulary_mask``: the clean words that occur in a caption corpus (the training
  captions), word-initial pieces and the "##" pieces of corpus words seen at least
  ``min_count`` times. Motion vectors live here: a motion can only be described by words
  that described motions.

``caption_word_ids`` gives a caption's content-word ids, the target of the grounding terms
and of the grounding metrics; ``inverse_document_frequency`` weights them.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache

import torch

# Function words and the subjects every caption starts with: they describe no movement.
STOP_WORDS = frozenset(
    "a an the and or but of to in on at with by for from as into onto over under up down off out "
    "is are was were be been being am it its itself his her hers their theirs they them he she him "
    "himself herself themselves this that these those there then than while when where which who whom "
    "what how so very just also again some any each other another same such own only both all "
    "has have had having do does did doing can could would should will may might must shall not no "
    "one ones s t".split()
) | frozenset("someone somebody person persons people human man men woman women guy figure subject "
              "character individual".split())
_UNUSED = re.compile(r"^\[unused\d+\]$")
_WORD = re.compile(r"^(##)?[a-z]+$")


def vocabulary_mask(tokenizer) -> torch.Tensor:
    """(V,) 0 for special tokens and [unusedN] slots, 1 elsewhere."""
    mask = torch.ones(len(tokenizer))
    mask[list(tokenizer.all_special_ids)] = 0
    for token, index in tokenizer.get_vocab().items():
        if _UNUSED.match(token):
            mask[index] = 0
    return mask


def is_whole_word(token: str) -> bool:
    """False for a "##" WordPiece: the tail of a longer word, never a word to tag, explain or place in time."""
    return not token.startswith("##")


def _is_clean(token: str) -> bool:
    word = token[2:] if token.startswith("##") else token
    return bool(_WORD.match(token)) and len(word) > 1 and word not in STOP_WORDS


def clean_vocabulary_mask(tokenizer) -> torch.Tensor:
    """(V,) 1 for real words (letters only, not a stop word, not a single letter)."""
    mask = vocabulary_mask(tokenizer)
    for token, index in tokenizer.get_vocab().items():
        if not _is_clean(token):
            mask[index] = 0
    return mask


def domain_vocabulary_mask(tokenizer, captions: list[str], min_count: int = 2) -> torch.Tensor:
    """(V,) 1 for the clean tokens of a caption corpus; "##" pieces need ``min_count`` uses."""
    counts = Counter(i for ids in tokenizer(list(captions), add_special_tokens=False)["input_ids"] for i in ids)
    clean = clean_vocabulary_mask(tokenizer)
    mask = torch.zeros_like(clean)
    tokens = tokenizer.convert_ids_to_tokens(list(counts))
    for (index, n), token in zip(counts.items(), tokens):
        if clean[index] and (n >= min_count or not token.startswith("##")):
            mask[index] = 1
    return mask


@lru_cache(maxsize=1)
def _stemmer():
    import snowballstemmer
    return snowballstemmer.stemmer("english")


def word_stem(word: str) -> str:
    """The Snowball stem of a word or WordPiece (its "##" dropped): walks, walking and walked share one."""
    return _stemmer().stemWord(word.removeprefix("##").lower())


_STEM_GROUPS: dict = {}


def stem_groups(tokenizer) -> tuple[dict[str, list[int]], dict[int, str]]:
    """(stem -> the ids of every vocabulary token with that stem, id -> its stem), "##" pieces by their
    letters; computed once per tokenizer."""
    key = (tokenizer.name_or_path, len(tokenizer))
    if key not in _STEM_GROUPS:
        stem_of = {i: word_stem(t) for t, i in tokenizer.get_vocab().items()}
        groups: dict[str, list[int]] = {}
        for i, stem in stem_of.items():
            groups.setdefault(stem, []).append(i)
        _STEM_GROUPS[key] = (groups, stem_of)
    return _STEM_GROUPS[key]


def caption_word_ids(tokenizer, text: str) -> list[int]:
    """A caption's content-word ids: its WordPieces minus stop words, digits and punctuation."""
    words = [w for w in re.findall(r"[a-z]+", text.lower()) if w not in STOP_WORDS and len(w) > 1]
    if not words:
        return []
    ids = tokenizer(words, add_special_tokens=False, is_split_into_words=True)["input_ids"]
    tokens = tokenizer.convert_ids_to_tokens(ids)
    return list(dict.fromkeys(i for i, t in zip(ids, tokens) if _is_clean(t)))


def caption_targets(tokenizer, texts: list[str], weights: torch.Tensor | None = None) -> torch.Tensor:
    """(B, V) target distribution over each caption's content words (``weights``, e.g. IDF,
    or uniform); a caption without content words gets an all-zero row."""
    targets = torch.zeros(len(texts), len(tokenizer))
    for b, text in enumerate(texts):
        ids = caption_word_ids(tokenizer, text)
        if ids:
            w = weights[ids].float() if weights is not None else torch.ones(len(ids))
            targets[b, ids] = w / w.sum().clamp(min=1e-9)
    return targets


def inverse_document_frequency(tokenizer, captions: list[str]) -> torch.Tensor:
    """(V,) log((1 + N) / (1 + df)) + 1 over a caption corpus (smoothed, as scikit-learn):
    common words weigh about 1, rare words up to log(N) + 1, unseen words the maximum."""
    df = Counter(i for ids in tokenizer(list(captions), add_special_tokens=False)["input_ids"] for i in set(ids))
    n = len(captions)
    idf = torch.full((len(tokenizer),), math.log((1 + n) / 1) + 1)
    for index, count in df.items():
        idf[index] = math.log((1 + n) / (1 + count)) + 1
    return idf


def vocabulary_word(tokenizer, word: str, prefix: str = "") -> tuple[str, int]:
    """WORD as one vocabulary entry -> (its WordPiece, its id); a word that is not one WordPiece is refused in
    one line (PREFIX: how the user wrote it, e.g. "+" for a keyword constraint)."""
    from lexmotion.errors import BadValueError
    pieces = tokenizer.tokenize(word)
    if len(pieces) != 1 or pieces[0] == tokenizer.unk_token:
        verb = "constrain" if prefix in ("+", "-") else "use"
        hint = (f" (it is the pieces {' '.join(pieces)}: {verb} one of them, e.g. {prefix}{pieces[0]})"
                if len(pieces) > 1 else "")
        raise BadValueError(f"{prefix}{word}: not a word of the model's vocabulary{hint}")
    return pieces[0], int(tokenizer.convert_tokens_to_ids(pieces[0]))

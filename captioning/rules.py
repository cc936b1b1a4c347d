"""Word rules that supervise the guided captioner's attention (guided-attention paper, Sec. 3.2).

The word lists live in ``captioning/data/word_rules.json`` (see its ``_about``):
- trajectory words -> the root part, beta = 1;
- arm / leg / torso action words -> their parts, beta = 1 (sides resolved by a
  nearby "left"/"right");
- other motion verbs and adverbs -> beta = 1, no part target;
- function words and subjects -> beta = 0;
- anything else -> not supervised.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from lexmotion.data.skeletons import PARTS

RULES_FILE = Path(__file__).with_name("data") / "word_rules.json"
_SIDES = {"arms": ("left_arm", "right_arm"), "legs": ("left_leg", "right_leg")}
_SIDE_WINDOW = 3


def stem(word: str) -> str:
    from lexmotion.models.vocabulary import word_stem
    return word_stem(word)


@lru_cache(maxsize=4)
def load_rules(path: str = str(RULES_FILE)) -> dict[str, frozenset[str]]:
    """{list name: frozenset of stems}."""
    raw = json.loads(Path(path).read_text())
    return {name: frozenset(stem(w) for w in ws) for name, ws in raw.items() if not name.startswith("_")}


def word_targets(tokens: list[str], rules: dict[str, frozenset[str]] | None = None) -> list[dict]:
    """Per word: {"beta": 1.0, 0.0 or None, "parts": tuple of part names (may be empty), "group": str|None}."""
    rules = rules or load_rules()
    stems = [stem(t) for t in tokens]
    out = []
    for i, s in enumerate(stems):
        if s in rules["function"]:
            out.append({"beta": 0.0, "parts": (), "group": "function"})
            continue
        group = next((g for g in ("root", "arms", "legs", "torso") if s in rules[g]), None)
        if group is None:
            out.append({"beta": 1.0 if s in rules["motion"] else None, "parts": (),
                        "group": "motion" if s in rules["motion"] else None})
            continue
        parts: tuple[str, ...] = {"root": ("root",), "torso": ("torso",)}.get(group, ())
        if group in _SIDES:
            window = stems[max(0, i - _SIDE_WINDOW): i + _SIDE_WINDOW + 1]
            left, right = "left" in window, "right" in window
            if left != right:
                parts = (_SIDES[group][0 if left else 1],)
            else:
                parts = _SIDES[group]
        out.append({"beta": 1.0, "parts": parts, "group": group})
    return out


def target_arrays(tokens: list[str], rules=None):
    """-> (beta (n,), beta_known (n,), parts (n, 6) multi-hot, parts_known (n,)) as float lists."""
    beta, beta_known, parts, parts_known = [], [], [], []
    for t in word_targets(tokens, rules):
        beta.append(t["beta"] if t["beta"] is not None else 0.0)
        beta_known.append(t["beta"] is not None)
        parts.append([1.0 if p in t["parts"] else 0.0 for p in PARTS])
        parts_known.append(bool(t["parts"]))
    return beta, beta_known, parts, parts_known

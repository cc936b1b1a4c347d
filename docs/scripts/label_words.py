"""Does a caption name the action of a Bandai take? For each predictions file of `lexmotion caption eval --json`
on Bandai data, the share of clips whose caption holds the label's action word (the first word of its content
label: raise, run, wave, walk), matched by stem, with its synonyms in Bandai's own label captions (raise: lift,
put up). Per file, then the mean ± std over files of one setting.

    python docs/scripts/label_words.py docs/results/captioning/elsewhere-bandai-*.json.*.predictions.jsonl
"""
import json
import re
import sys
from collections import defaultdict

import numpy as np

from captioning.rules import stem

SYNONYMS = {"raise": {"raise", "lift", "put"}}       # Bandai's label captions say "lifts" and "puts ... up" too


def named(caption: str, action: str) -> bool:
    words = {stem(w) for w in re.findall(r"[a-z]+", caption.lower())}
    return bool(words & {stem(w) for w in SYNONYMS.get(action, {action})})


def main(paths: list[str]) -> None:
    by_setting = defaultdict(list)
    for path in paths:
        rows = [json.loads(line) for line in open(path) if line.strip()]
        actions = [r["id"].split("_")[1].split("-")[0] for r in rows]     # dataset-2_raise-up-left-hand_active_001
        share = float(np.mean([named(r["prediction"], a) for r, a in zip(rows, actions)]))
        own = float(np.mean([r.get("source", "captioner") == "captioner" for r in rows]))
        per_action = {a: round(float(np.mean([named(r["prediction"], a) for r, b in zip(rows, actions) if b == a])), 3)
                      for a in sorted(set(actions))}
        print(f"{path}: action named {share:.3f} ({len(rows)} clips; own captions {own:.0%}) {per_action}")
        by_setting[re.sub(r"\.\d+\.predictions\.jsonl$", "", path)].append(share)
    for setting, shares in by_setting.items():
        print(f"{setting}: {np.mean(shares):.3f} ± {np.std(shares):.3f} over {len(shares)} captioners")


if __name__ == "__main__":
    main(sys.argv[1:])

"""Which words the motion vectors tag well (docs/results/words.md, "Which words tag well"): from a `lexmotion eval
words --json` file of several checkpoints, each word's AP (mean over the checkpoints) beside its positives and
chance, and the mean AP of the words grouped by how many positives they have.

    python docs/scripts/words_by_word.py WORDS.json

No figure is recomputed: the per-word APs are the file's. The mean over all words is `eval words`' own.
"""
from __future__ import annotations

import json
import sys

import numpy as np

BINS = ((3, 4), (5, 9), (10, None))


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    runs = json.load(open(sys.argv[1]))["runs"]
    words = runs[0]["words"]
    ap = {w: float(np.mean([r["words"][w]["ap"] for r in runs])) for w in words}
    query = {w: float(np.mean([r["words"][w]["ap_query"] for r in runs])) for w in words}
    print(f"| word | positives | chance | AP (mean of {len(runs)}) | query AP |")
    print("|---|---|---|---|---|")
    for w in sorted(words, key=lambda w: -ap[w]):
        print(f"| {w} | {words[w]['positives']} | {words[w]['chance']:.3f} | {ap[w]:.3f} | {query[w]:.3f} |")
    print(f"\nall {len(words)} words: AP {np.mean(list(ap.values())):.3f}, chance "
          f"{np.mean([words[w]['chance'] for w in words]):.3f}")
    for low, high in BINS:
        group = [w for w in words if words[w]["positives"] >= low and (high is None or words[w]["positives"] <= high)]
        span = f"{low}-{high}" if high else f"{low}+"
        print(f"{span} positives: {len(group)} words, AP {np.mean([ap[w] for w in group]):.3f}, chance "
              f"{np.mean([words[w]['chance'] for w in group]):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

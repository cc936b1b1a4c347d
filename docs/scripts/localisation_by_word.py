"""Which words word localisation misses (docs/results/moments.md, "Which words are missed"): on `eval moments`'
kitml-cmu test sequences (3 parts, seed 0), each caption word's placements, summed over the given checkpoints.

    python docs/scripts/localisation_by_word.py CKPT [CKPT ...] [--dense CKPT ...] [--least 6] --json OUT

For each word asked at least LEAST times in all (a word is asked once per sequence and checkpoint): how often its
timeline's peak lies in a part whose caption holds it (the `word_localisation` hit), how often its timeline stays 0
(silent, a miss), and its chance (the holders' share of the sequence). With --dense, the dense checkpoints' hits on
the same words (2 s windows against the word's text vector, as `eval moments` places them) stand beside them.
The totals equal `eval moments`' word_localisation, word for word.
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict

import numpy as np


def placements(path: str, sequences) -> list[tuple[str, bool, bool, float]]:
    """(word, hit, silent, chance) for every word `eval moments` places in SEQUENCES with the checkpoint PATH."""
    from lexmotion.data.batching import normalise
    from lexmotion.models.checkpoint import load
    from retrieval.moments import inside, localisation_words, share, word_peaks
    model = load(path)
    out = []
    for seq in sequences:
        words = localisation_words(model.tokenizer, seq)
        if not words:
            continue
        peaks = word_peaks(model, normalise(seq.features, model.stats), [w for w, _ in words])
        for (word, holders), (peak, _) in zip(words, peaks):
            out.append((word, peak is not None and inside(peak, seq, holders), peak is None, share(seq, holders)))
    return out


def by_word(rows: list[tuple[str, bool, bool, float]]) -> dict:
    table = defaultdict(lambda: {"asked": 0, "hits": 0, "silent": 0, "chance": 0.0})
    for word, hit, silent, chance in rows:
        t = table[word]
        t["asked"] += 1
        t["hits"] += int(hit)
        t["silent"] += int(silent)
        t["chance"] += chance
    for t in table.values():
        t["chance"] = round(t["chance"] / t["asked"], 3)
    return dict(table)


def main() -> int:
    from retrieval.moments import build_sequences
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+")
    p.add_argument("--dense", nargs="*", default=[])
    p.add_argument("--least", type=int, default=6, help="list words asked at least this many times (default 6)")
    p.add_argument("--json", required=True)
    args = p.parse_args()
    sequences = build_sequences("data/kitml", "test", 3, None, 0)
    lexical = [r for path in args.models for r in placements(path, sequences)]
    dense = [r for path in args.dense for r in placements(path, sequences)]
    words, dense_words = by_word(lexical), by_word(dense)
    hits = np.array([h for _, h, _, _ in lexical])
    out = {"models": args.models, "dense": args.dense, "placements": len(lexical),
           "word_localisation": float(hits.mean()), "silent": int(sum(s for _, _, s, _ in lexical)),
           "words": words, "dense_words": dense_words}
    with open(args.json, "w") as f:
        json.dump(out, f, indent=1)
    misses = len(lexical) - int(hits.sum())
    listed = sorted((w for w, t in words.items() if t["asked"] >= args.least), key=lambda w: (-words[w]["asked"], w))
    dense_cell = " dense hits |" if dense else ""
    print(f"| word | asked | hits | silent | chance |{dense_cell}")
    print("|---|---|---|---|---|" + ("---|" if dense else ""))
    for w in listed:
        t = words[w]
        extra = f" {dense_words[w]['hits']} |" if dense else ""
        print(f"| {w} | {t['asked']} | {t['hits']} | {t['silent']} | {t['chance']:.2f} |{extra}")
    listed_misses = sum(words[w]["asked"] - words[w]["hits"] for w in listed)
    print(f"\n{len(lexical)} placements of {len(words)} words: {int(hits.sum())} hits ({hits.mean():.3f}), "
          f"{out['silent']} silent; the {len(listed)} words listed hold {listed_misses} of the {misses} misses")
    if dense:
        print(f"dense: {sum(h for _, h, _, _ in dense)} hits of {len(dense)} ({np.mean([h for _, h, _, _ in dense]):.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

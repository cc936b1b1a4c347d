"""B − A on a per-word figure of `lexmotion eval words` or `eval moments` JSON, with `eval compare`'s paired
bootstrap (words and seeds resampled, seed i of A paired with seed i of B).

    python docs/scripts/words_intervals.py A.json KEY B.json KEY
    python docs/scripts/words_intervals.py A.json:0 KEY B.json KEY     # only A's first checkpoint (a one-seed probe)

KEY is a per-word figure: ap, ap_logits or ap_query of `eval words`, or calibrated.precision, calibrated.recall,
calibrated.held of its calibrated thresholds; word_localisation or
word_localisation_logits of `eval moments` (its --model checkpoints, on the same words), or
word_localisation_guess: each silent word (weights 0 all along) counted at its chance, as a uniform guess
would score it, and every other word as word_localisation does. A and B may be the
same file (two readings of the same checkpoints) or two files scored on the same split (two recipes). Only
words that both sides score are used. PATH:I,J keeps only the checkpoints at those places of the file's --model list.
"""
import json
import sys

import numpy as np

from retrieval.compare import paired_difference


def per_word(path: str, key: str) -> dict[str, list[float]]:
    path, _, keep = path.partition(":")
    result = json.loads(open(path).read())
    if keep:
        places = [int(i) for i in keep.split(",")]
        models = [result["models"][i] for i in places]
        result["runs"] = ({m: result["runs"][m] for m in models} if isinstance(result["runs"], dict)
                          else [result["runs"][i] for i in places])
        result["models"] = models
    if isinstance(result["runs"], dict):          # eval moments: each word of each sequence, in a fixed order
        runs = [result["runs"][m] for m in result["models"]]
        if key == "word_localisation_guess":
            outcomes = [[r["word_share"][i] if r["word_silent"][i] else hit
                         for i, hit in enumerate(r["per_item"]["word_localisation"])] for r in runs]
        else:
            outcomes = [r["per_item"][key] for r in runs]
        return {str(i): [o[i] for o in outcomes] for i in range(len(outcomes[0]))}
    runs = result["runs"]
    words = set.intersection(*(set(r["words"]) for r in runs))
    if key.startswith("calibrated."):           # a figure at the calibrated thresholds: calibrated.recall
        return {w: [r["words"][w]["calibrated"][key.split(".", 1)[1]] for r in runs] for w in sorted(words)}
    return {w: [r["words"][w][key] for r in runs] for w in sorted(words)}


def interval(a_path: str, a_key: str, b_path: str, b_key: str) -> tuple[int, dict]:
    """(how many words both sides score, B − A with its paired bootstrap over those words and the seeds)."""
    a, b = per_word(a_path, a_key), per_word(b_path, b_key)
    words = sorted(set(a) & set(b))
    return len(words), paired_difference(np.array([a[w] for w in words]).T, np.array([b[w] for w in words]).T)


def main(argv: list[str]) -> None:
    if len(argv) != 4:
        sys.exit(__doc__)
    n, r = interval(*argv)
    print(f"{n} words: A {r['a']:.3f} ± {r['a_std']:.3f}, B {r['b']:.3f} ± {r['b_std']:.3f}, "
          f"B − A {r['difference']:+.3f} [{r['low']:+.3f}, {r['high']:+.3f}]: {r['verdict']}")


if __name__ == "__main__":
    main(sys.argv[1:])

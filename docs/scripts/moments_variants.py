"""Cheap changes to how `eval moments` reads a model, tried before touching training (docs/results/moments.md,
"Reading the model differently"), on its kitml-cmu test sequences (3 parts, seed 0):

- word localisation when a word's peak is taken from a smoothed timeline (a moving mean over K patches), or
  from short windows encoded alone (each window's motion vector, its weight on the word, at the window's
  centre) instead of the per-patch timeline;
- moment R@1 at IoU 0.5 when each window length's scores are standardised per query before ranking, so
  that 2, 4 and 8 s windows compete on equal terms.

    python docs/scripts/moments_variants.py CKPT [CKPT ...]
"""
from __future__ import annotations

import sys

import numpy as np

SMOOTHING = (3, 5, 9)          # patches of 0.4 s
ALONE_S = (1.0, 2.0, 4.0)      # windows encoded alone, every 0.4 s


def smoothed_peaks(k: int):
    def peaks(model, features, words):
        timelines = model.word_timelines(features, words)
        out = []
        for values in timelines["words"].values():
            smooth = np.convolve(values, np.ones(k) / k, mode="same")
            peak = float(timelines["seconds"][int(np.argmax(smooth))]) if np.max(values) > 0 else None
            out.append((peak, peak))             # moments.word_peaks' pair: (weights' peak, logits' peak)
        return out
    return peaks


def window_peaks(seconds: float):
    def peaks(model, features, words):
        from lexmotion.data.features import WORKING_FPS
        from lexmotion.models.vocabulary import vocabulary_word
        from retrieval.segments import windows
        spans = windows(len(features), round(seconds * WORKING_FPS), round(0.4 * WORKING_FPS))
        vectors = model.encode_motion([features[a:b] for a, b in spans])
        weights = (vectors.to_dense() if vectors.is_sparse else vectors).numpy()
        weights = weights[:, [vocabulary_word(model.tokenizer, w)[1] for w in words]]
        return [((spans[j][0] + spans[j][1]) / 2 / WORKING_FPS if weights[j, k] > 0 else None,) * 2
                for k, j in enumerate(weights.argmax(0))]
    return peaks


def localisation_with(model, seqs, peaks) -> float:
    from retrieval import moments
    original, moments.word_peaks = moments.word_peaks, peaks
    try:
        return moments.localise_words(model, seqs)["word_localisation"]
    finally:
        moments.word_peaks = original


def moments_per_length(model, seqs) -> tuple[float, float]:
    """Moment R@1 at IoU 0.5: raw scores, and scores standardised per query within each window length."""
    from retrieval import moments
    scores, spans, queries = moments.window_scores(model, seqs)
    length = np.array([b - a for _, a, b in spans])
    standard = scores.copy()
    for value in np.unique(length):
        same = np.isclose(length, value)
        block = scores[:, same]
        standard[:, same] = (block - block.mean(1, keepdims=True)) / (block.std(1, keepdims=True) + 1e-9)
    # single windows (tolerance 0), the reading these figures were made with
    return tuple(moments.moment_recall(s, spans, queries, tolerance=0.0)["moment_R1_iou0.5"]
                 for s in (scores, standard))


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    from lexmotion.models.checkpoint import load
    from retrieval import moments
    seqs = moments.build_sequences("data/kitml", "test")
    head = (["timeline"] + [f"smoothed {k}" for k in SMOOTHING] + [f"{s:g} s alone" for s in ALONE_S]
            + ["moment R@1 raw", "moment R@1 per-length z"])
    print("| checkpoint | " + " | ".join(head) + " |")
    print("|---" * (len(head) + 1) + "|")
    for path in sys.argv[1:]:
        model = load(path)
        cells = []
        if model.has_words:
            cells.append(moments.localise_words(model, seqs)["word_localisation"])
            cells += [localisation_with(model, seqs, smoothed_peaks(k)) for k in SMOOTHING]
            cells += [localisation_with(model, seqs, window_peaks(s)) for s in ALONE_S]
        else:                                             # a dense model has no word timelines
            cells += [float("nan")] * (1 + len(SMOOTHING) + len(ALONE_S))
        cells += moments_per_length(model, seqs)
        print(f"| {path} | " + " | ".join("–" if np.isnan(c) else f"{c:.3f}" for c in cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

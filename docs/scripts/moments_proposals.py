"""An exploration behind docs/results/moments.md ("What bounds moment R@1"): instead of raw 2/4/8 s windows,
cut proposals from each query's relevance curve and rank those.

    python docs/scripts/moments_proposals.py CKPT

The curve is the query's score against 2 s windows every 0.5 s of each sequence. Proposals are every
segment of 2-10 s on a 0.5 s grid, scored by the curve's mean inside ("mean_in"), by that mean less the
mean over the rest of the sequence ("contrast"), or by both added ("mean+contrast"). Same sequences and
metrics as `lexmotion eval moments`.
"""
from __future__ import annotations

import sys

import numpy as np


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    from lexmotion.data.batching import normalise
    from lexmotion.data.features import WORKING_FPS
    from lexmotion.models.checkpoint import load
    from retrieval import moments
    from retrieval.segments import encoded_rows, windows
    model = load(sys.argv[1])
    seqs = moments.build_sequences("data/kitml", "test")
    queries = moments._queries(seqs)
    text = encoded_rows(model.encode_text([part["caption"] for _, part in queries]))
    curves, centres = [], []
    for seq in seqs:
        features = normalise(seq.features, model.stats)
        spans = windows(len(features), round(2 * WORKING_FPS), round(0.5 * WORKING_FPS))
        curves.append(text @ encoded_rows(model.encode_motion([features[a:b] for a, b in spans])).T)
        centres.append(np.array([(a + b) / 2 / WORKING_FPS for a, b in spans]))
    rules = {"mean_in": lambda i, o: i.mean(),
             "contrast": lambda i, o: i.mean() - (o.mean() if len(o) else i.mean()),
             "mean+contrast": lambda i, o: 2 * i.mean() - (o.mean() if len(o) else i.mean())}
    for name, rule in rules.items():
        spans, scores = [], []
        for s, seq in enumerate(seqs):
            grid = np.arange(0, seq.duration + 1e-9, 0.5)
            for a in grid:
                for b in grid:
                    inside = (centres[s] >= a) & (centres[s] <= b)
                    if 2 <= b - a <= 10 and inside.any():
                        spans.append((s, a, b))
                        scores.append([rule(curves[s][q, inside], curves[s][q, ~inside]) for q in range(len(queries))])
        result = moments.moment_recall(np.array(scores).T, spans, queries, tolerance=0.0)   # proposals as they are
        print(f"{name}: {len(spans)} proposals, " + ", ".join(f"{k} {v:.3f}" for k, v in result.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How well change points (retrieval/segments.py) find the joins of `eval moments`' sequences: the share of the
true part boundaries with a change point within 0.5 s, and change points per sequence (a 3-part sequence has 2
boundaries).

    python docs/scripts/boundary_recall.py CKPT [CKPT ...] [--on DIR:SPLIT] [--window-frame own|clip]
"""
from __future__ import annotations

import argparse

import numpy as np

NEAR_S = 0.5


def main() -> int:
    from lexmotion.data.batching import normalise
    from lexmotion.data.features import WORKING_FPS
    from lexmotion.models.checkpoint import load
    from retrieval.moments import build_sequences
    from retrieval.segments import cut_points
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+")
    p.add_argument("--on", default="data/kitml:test", help="DIR:SPLIT of the sequences (default data/kitml:test)")
    p.add_argument("--window-frame", choices=("own", "clip"), help="default: as the checkpoint serves")
    args = p.parse_args()
    data, _, split = args.on.rpartition(":")
    seqs = build_sequences(data, split)
    print("| checkpoint | boundaries found within 0.5 s | change points per sequence | boundaries per sequence |")
    print("|---|---|---|---|")
    for path in args.models:
        model = load(path)
        model.override_serving(window_frame=args.window_frame)
        found, points = [], []
        for seq in seqs:
            cuts = np.array(cut_points(model, normalise(seq.features, model.stats))) / WORKING_FPS
            points.append(len(cuts))
            found += [bool(len(cuts)) and float(np.min(np.abs(cuts - part["end"]))) <= NEAR_S for part in seq.parts[:-1]]
        print(f"| {path} | {np.mean(found):.3f} ({sum(found)} of {len(found)}) | {np.mean(points):.1f} | "
              f"{len(seqs[0].parts) - 1} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Where a long take's motion changes, and what each stretch between changes shows, in words: the change points
that `index build --segments` and `eval moments --proposals segments` cut at (retrieval/segments.py), and the
top words of each stretch encoded alone.

    python docs/scripts/take_segments.py CKPT --data DIR ID [ID ...] [--words 4]
"""
from __future__ import annotations

import argparse

import numpy as np


def main() -> int:
    from lexmotion.data.batching import normalise
    from lexmotion.data.dataset import MotionDataset
    from lexmotion.data.features import WORKING_FPS, part_features
    from lexmotion.data.skeletons import get_skeleton
    from lexmotion.models.checkpoint import load
    from retrieval.segments import PEAK_RADIUS_S, change_points, novelty
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("ids", nargs="+")
    p.add_argument("--data", required=True)
    p.add_argument("--words", type=int, default=4)
    args = p.parse_args()
    model = load(args.model)
    ds = MotionDataset(args.data)
    for clip_id in args.ids:
        row = ds.row(ds.find(clip_id))
        features = normalise(part_features(row["joints"], float(row["fps"]), get_skeleton(str(row["skeleton"]))),
                             model.stats)
        frames, values = novelty(model, features)
        points = change_points(frames, values, round(PEAK_RADIUS_S * WORKING_FPS))
        ends = sorted({0, len(features), *points})
        stretches = list(zip(ends, ends[1:]))
        vectors = model.encode_motion([model.read_window(features[a:b]) for a, b in stretches]).to_dense().numpy()
        print(f"\n{clip_id} ({len(features) / WORKING_FPS:.1f} s): {' / '.join(row['texts'])}")
        print("| stretch (s) | top words |\n|---|---|")
        for (a, b), v in zip(stretches, vectors):
            top = np.argsort(-v)[:args.words]
            words = ", ".join(f"{model.tokenizer.convert_ids_to_tokens(int(t))} {v[t]:.2f}" for t in top if v[t] > 0)
            print(f"| {a / WORKING_FPS:.1f}–{b / WORKING_FPS:.1f} | {words} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

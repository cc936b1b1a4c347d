"""A new capture's walks under thresholds calibrated elsewhere (docs/grounding.md, "Keywords for a mocap library"):
Bandai-2 test's walking takes (labels walk, walk-turn-left, walk-turn-right), tagged as `lexmotion tag` tags them.

    python docs/scripts/bandai_walk_tags.py CKPT [CKPT ...]

For each calibrated checkpoint: the range of its weight on *walk* over the takes, the threshold of *walk*, how many
takes get no word, and how many get *walk*. Give the default's checkpoint (calibrated on kitml-cmu and cmu-extra)
and a copy calibrated on Bandai-2 (`lexmotion tag --calibrate --data data/bandai`, which reads its val split and a
tenth of train, never test).
"""
from __future__ import annotations

import sys

import numpy as np

WALKS = ("walk", "walk-turn-left", "walk-turn-right")


def main() -> int:
    import torch

    from lexmotion.data.batching import MotionTextDataset
    from lexmotion.data.dataset import MotionDataset
    from lexmotion.models.checkpoint import load
    from lexmotion.models.thresholds import calibrated_on, read_thresholds, word_limits
    from retrieval.tagging import tag_vectors
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    ds = MotionDataset("data/bandai")
    metas = ds.metas()
    for path in sys.argv[1:]:
        thresholds = read_thresholds(path)
        model = load(path)
        items = MotionTextDataset(ds, "test", model.stats, model.served_frames)
        rows = [r for r in items.rows if metas[r["index"]].get("content") in WALKS]
        with torch.no_grad():
            vectors = model.motion_lexical(*model.served_batch([r["features"] for r in rows]), prune=False).float().numpy()
        walk = model.tokenizer.convert_tokens_to_ids("walk")
        tags = tag_vectors(model, vectors, thresholds, 10)
        print(f"{path} (calibrated on {calibrated_on(thresholds)}): {len(rows)} walking takes of Bandai-2 test; "
              f"weight on walk {vectors[:, walk].min():.2f}-{vectors[:, walk].max():.2f}, its threshold "
              f"{word_limits(thresholds, vectors.shape[1])[walk]:.2f}; {sum(not t for t in tags)} take(s) with no word, "
              f"{sum(any(w == 'walk' for w, _ in t) for t in tags)} with walk, "
              f"{int(np.sum([bool(t) and t[0][0] == 'walk' for t in tags]))} with walk first")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

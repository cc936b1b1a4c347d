"""How much a whole_take_words checkpoint's motion words come from the whole take (docs/results/more-like.md):
the same checkpoint's served-crop vectors with the setting on and off.

    python docs/scripts/take_words_share.py --model runs/grid/phases/lexcmlp-fcc97080db --data data/bandai data/kitml

For each dataset's test clips it prints the share of non-zero (clip, word) weights that the whole take decides
(larger than every patch's) and the share of the vectors' mass that it adds.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch


def main() -> None:
    from lexmotion.data.batching import MotionTextDataset
    from lexmotion.data.dataset import MotionDataset
    from lexmotion.models.checkpoint import load
    from lexmotion.models.lexical import lexical_weights
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="a lexical checkpoint trained with whole_take_words")
    p.add_argument("--data", nargs="+", required=True, help="dataset folders (their test split is read)")
    args = p.parse_args()
    model = load(args.model).eval()
    for data in args.data:
        rows = MotionTextDataset(MotionDataset(data), "test", model.stats, model.served_frames, require_text=False).rows
        decided = held = 0
        added = []
        with torch.no_grad():
            for start in range(0, len(rows), 64):
                batch = model.served_batch([r["features"] for r in rows[start:start + 64]])
                model.config.whole_take_words = True
                both = lexical_weights(model.motion_pooled_logits(*batch))
                model.config.whole_take_words = False
                patches = lexical_weights(model.motion_pooled_logits(*batch))
                decided += int(((both > patches + 1e-6) & (both > 0)).sum())
                held += int((both > 0).sum())
                added.append(((both - patches).sum(1) / both.sum(1).clamp(min=1e-12)).numpy())
        print(f"{data} (test, {len(rows)} clips): the whole take decides {decided / held:.2%} of the non-zero "
              f"weights and adds {float(np.concatenate(added).mean()):.2%} of the mass")


if __name__ == "__main__":
    main()

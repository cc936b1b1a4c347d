"""Why `window_frame` leaves centred crops alone: retrieval with each test clip longer than the encoder's window
read by its centred crop in the clip's frame (as served) and as a clip of its own (``crop_frame``), as served
otherwise (hub prior on). Not a setting of the product: this script swaps the crop's reading in for one run.

    python docs/scripts/centre_crop_frame.py LEXCMLP [LEXCMLP ...] --json OUT

Test sets as in the grid: kitml-cmu test (protocol all) and cmu-extra test (protocol threshold). Intervals:
`eval compare`'s paired bootstrap over queries and checkpoints (own − clip).
"""
from __future__ import annotations

import argparse
import json

import numpy as np
import torch

SETS = (("data/kitml", "all"), ("data/cmu-extra", "threshold"))


def main() -> int:
    import lexmotion.data.batching as batching
    from lexmotion.models.checkpoint import load
    from retrieval.compare import compare_ranks, format_comparison
    from retrieval.evaluate import evaluate_protocols
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+")
    p.add_argument("--json", required=True)
    args = p.parse_args()
    served = batching.MotionTextDataset.__getitem__

    def own(self, i):
        item = served(self, i)
        if not self.train and self.max_frames is not None and len(self.rows[i]["features"]) > self.max_frames:
            item["motion"] = torch.from_numpy(np.ascontiguousarray(batching.as_own_clip(item["motion"].numpy(),
                                                                                          self.stats)))
        return item
    ranks = {}             # (data, reading) -> each checkpoint's query ranks
    for path in args.models:
        model = load(path)
        for data, protocol in SETS:
            for reading, getitem in (("clip", served), ("own", own)):
                batching.MotionTextDataset.__getitem__ = getitem
                r = evaluate_protocols(model, data, "test", (protocol,), keep_ranks=True, querybank=True)[0]
                ranks.setdefault((data, reading), []).append(r["query_ranks"])
        batching.MotionTextDataset.__getitem__ = served
    out = {"models": args.models, "sets": [list(s) for s in SETS], "own_minus_clip": {}}
    for data, protocol in SETS:
        out["own_minus_clip"][data] = result = compare_ranks(ranks[(data, "clip")], ranks[(data, "own")])
        print(data, "(A: the crop in the clip's frame, B: as a clip of its own)")
        print(format_comparison(result, protocol))
    with open(args.json, "w") as f:
        json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

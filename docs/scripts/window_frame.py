"""Choose the frame a window of a longer motion is read in (ModelConfig.window_frame) on sequences that are not
the moment benchmark's.

    python docs/scripts/window_frame.py LEXCMLP [LEXCMLP ...] --json OUT

"clip": a window keeps the whole motion's first-frame frame (every version before this script): its pelvis
sits wherever the take had walked to, turned however the take had turned. "own": the window is read as a clip
of its own, facing +z at its first frame, as an upload of the same frames is (``features.crop_frame``).

Selection sequences, as for MOMENT_TOLERANCE (moment_tolerance.py): kitml-cmu val (4 sequences of 3 parts,
12 queries) and cmu-extra test (26 sequences, 78 queries). kitml-cmu test, the benchmark's set, is not read.

Rule: "own" becomes the default only if its moment R@1 at IoU 0.5, pooled over the selection queries of the
given checkpoints (queries and seeds), lies above "clip"'s with a paired interval above 0. Word localisation
on the same sequences is recorded, not ruled on.
"""
from __future__ import annotations

import argparse
import json

import numpy as np

SELECTION = (("data/kitml", "val"), ("data/cmu-extra", "test"))
FRAMES = ("clip", "own")
KEY = "moment_R1_iou0.5"
RECORDED = (KEY, "moment_R5_iou0.5", "moment_R1_iou0.7", "word_localisation", "word_localisation_logits")


def main() -> int:
    from lexmotion.models.checkpoint import load
    from retrieval.compare import paired_difference
    from retrieval.moments import build_sequences, localise_words, retrieve_moments
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+")
    p.add_argument("--json", required=True)
    args = p.parse_args()
    sets = [(f"{d}:{split}", build_sequences(d, split, 3, None, 0)) for d, split in SELECTION]
    outcomes = {f: {k: [] for k in RECORDED} for f in FRAMES}     # frame -> metric -> per checkpoint, items of all sets
    per_set = {}
    for path in args.models:
        model = load(path)
        for frame in FRAMES:
            model.override_serving(window_frame=frame)
            row = {k: [] for k in RECORDED}
            for name, seqs in sets:
                moments = retrieve_moments(model, seqs)
                words = localise_words(model, seqs)
                items = {**moments["per_item"], "word_localisation": words["word_hits"],
                         "word_localisation_logits": words["word_hits_logits"]}
                for k in RECORDED:
                    row[k] += items[k]
                    per_set.setdefault(frame, {}).setdefault(name, {}).setdefault(k, []).append(float(np.mean(items[k])))
            for k in RECORDED:
                outcomes[frame][k].append(row[k])
    out = {"selection": [name for name, _ in sets], "rule_metric": KEY, "models": args.models, "per_set": per_set,
           "own_minus_clip": {k: paired_difference(np.array(outcomes["clip"][k], dtype=float),
                                                   np.array(outcomes["own"][k], dtype=float)) for k in RECORDED}}
    out["chosen"] = "own" if out["own_minus_clip"][KEY]["low"] > 0 else "clip"
    for k, c in out["own_minus_clip"].items():
        print(f"{k}: clip {c['a']:.3f}, own {c['b']:.3f}, own - clip {c['difference']:+.3f} "
              f"[{c['low']:+.3f}, {c['high']:+.3f}] {c['verdict']}")
    print("chosen:", out["chosen"])
    with open(args.json, "w") as f:
        json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

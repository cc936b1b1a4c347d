"""Choose what a moment query ranks (`eval moments --proposals`): fixed windows grown into moments, or segments
cut where the motion changes (retrieval/segments.py), on sequences that are not the moment benchmark's.

    python docs/scripts/moment_segments.py LEXCMLP [LEXCMLP ...] --json OUT

Selection sequences, as for MOMENT_TOLERANCE (moment_tolerance.py) and window_frame.py: kitml-cmu val (4 sequences
of 3 parts, 12 queries) and cmu-extra test (26 sequences, 78 queries). kitml-cmu test, the benchmark's set, is not
read. Both sides read the checkpoints as they are served (window_frame "clip").

Rule: "segments" becomes `eval moments`' default, and the documented way to index moments (`index build
--segments`), only if its moment R@1 at IoU 0.5, pooled over the selection queries of the given checkpoints
(queries and seeds), lies above the windows' with a paired interval above 0. R@5 at IoU 0.5 and R@1 and R@5 at
IoU 0.7 are recorded, not ruled on.

Before writing this rule I had looked once at these selection figures for seed 0 (read as clips of their own),
with a scratch script, and developed the change-point settings on Bandai-2 val sequences.
"""
from __future__ import annotations

import argparse
import json

import numpy as np

SELECTION = (("data/kitml", "val"), ("data/cmu-extra", "test"))
SIDES = ("windows", "segments")
KEY = "moment_R1_iou0.5"
RECORDED = (KEY, "moment_R5_iou0.5", "moment_R1_iou0.7", "moment_R5_iou0.7")


def main() -> int:
    from lexmotion.models.checkpoint import load
    from retrieval.compare import paired_difference
    from retrieval.moments import build_sequences, retrieve_moments
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+")
    p.add_argument("--json", required=True)
    args = p.parse_args()
    sets = [(f"{d}:{split}", build_sequences(d, split, 3, None, 0)) for d, split in SELECTION]
    outcomes = {side: {k: [] for k in RECORDED} for side in SIDES}  # side -> metric -> per checkpoint, all sets' items
    per_set = {}
    for path in args.models:
        model = load(path)
        for side in SIDES:
            row = {k: [] for k in RECORDED}
            for name, seqs in sets:
                items = retrieve_moments(model, seqs, proposals=side)["per_item"]
                for k in RECORDED:
                    row[k] += items[k]
                    per_set.setdefault(side, {}).setdefault(name, {}).setdefault(k, []).append(float(np.mean(items[k])))
            for k in RECORDED:
                outcomes[side][k].append(row[k])
    out = {"selection": [name for name, _ in sets], "rule_metric": KEY, "models": args.models, "per_set": per_set,
           "segments_minus_windows": {k: paired_difference(np.array(outcomes["windows"][k], dtype=float),
                                                           np.array(outcomes["segments"][k], dtype=float))
                                      for k in RECORDED}}
    out["chosen"] = "segments" if out["segments_minus_windows"][KEY]["low"] > 0 else "windows"
    for k, c in out["segments_minus_windows"].items():
        print(f"{k}: windows {c['a']:.3f}, segments {c['b']:.3f}, segments - windows {c['difference']:+.3f} "
              f"[{c['low']:+.3f}, {c['high']:+.3f}] {c['verdict']}")
    print("chosen:", out["chosen"])
    with open(args.json, "w") as f:
        json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

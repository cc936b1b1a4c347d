"""Choose how far a moment grows (retrieval.index.MOMENT_TOLERANCE) on sequences that are not the target's.

    python docs/scripts/moment_tolerance.py LEXCMLP [LEXCMLP ...] --dense DENSE [DENSE ...] --json OUT

A hit of a windowed index, and of `eval moments`, is its best window grown through the overlapping windows of
its clip that score at least (1 - T) of it. T is chosen on the selection sequences: kitml-cmu val (4
sequences of 3 parts, 12 queries) and cmu-extra test (26 sequences, 78 queries; a test set of the retrieval
tables, never of the moment benchmark). kitml-cmu test, the target's set, is not read.

Rule: the T in TOLERANCES with the best moment R@1 at IoU 0.5 over the selection queries of the lexical
checkpoints, pooled (queries and seeds); it replaces single windows (T = 0) only if its paired interval against
T = 0 on those queries lies above 0. Dense checkpoints are scored the same way, for the record.
"""
from __future__ import annotations

import argparse
import json

import numpy as np

TOLERANCES = (0.0, 0.05, 0.1, 0.2, 0.3)
SELECTION = (("data/kitml", "val"), ("data/cmu-extra", "test"))
KEY = "moment_R1_iou0.5"


def main() -> int:
    from lexmotion.models.checkpoint import load
    from retrieval.compare import paired_difference
    from retrieval.moments import build_sequences, moment_recall, window_scores
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+")
    p.add_argument("--dense", nargs="+", default=[])
    p.add_argument("--json", required=True)
    args = p.parse_args()
    sets = [(f"{d}:{split}", build_sequences(d, split, 3, None, 0)) for d, split in SELECTION]
    outcomes = {}            # (kind, T) -> (checkpoints, queries of all sets) 0/1
    table = {}
    for kind, paths in (("lexical", args.models), ("dense", args.dense)):
        per_model = {t: [] for t in TOLERANCES}
        for path in paths:
            model = load(path)
            scored = [window_scores(model, seqs) for _, seqs in sets]
            for t in TOLERANCES:
                row = []
                for (name, _), (scores, spans, queries) in zip(sets, scored):
                    found = {}
                    r = moment_recall(scores, spans, queries, found, t)
                    table.setdefault(kind, {}).setdefault(f"{t:g}", {}).setdefault(name, []).append(r[KEY])
                    row += found[KEY]
                per_model[t].append(row)
        for t in TOLERANCES:
            if per_model[t]:
                outcomes[(kind, t)] = np.array(per_model[t], dtype=float)
    out = {"selection": [name for name, _ in sets], "metric": KEY, "tolerances": list(TOLERANCES),
           "lexical": args.models, "dense": args.dense, "per_set": table, "pooled": {}, "against_single_windows": {}}
    for (kind, t), values in outcomes.items():
        out["pooled"].setdefault(kind, {})[f"{t:g}"] = float(values.mean())
        if t:
            out["against_single_windows"].setdefault(kind, {})[f"{t:g}"] = paired_difference(outcomes[(kind, 0.0)], values)
    best = max((t for t in TOLERANCES if t), key=lambda t: outcomes[("lexical", t)].mean())
    verdict = out["against_single_windows"]["lexical"][f"{best:g}"]
    out["chosen"] = best if verdict["low"] > 0 else 0.0
    for kind in out["pooled"]:
        print(kind, "pooled R@1 (IoU 0.5) by T:", {t: round(v, 3) for t, v in out["pooled"][kind].items()})
        for t, c in out["against_single_windows"][kind].items():
            print(f"  T {t} - single windows: {c['difference']:+.3f} [{c['low']:+.3f}, {c['high']:+.3f}] {c['verdict']}")
    print("chosen:", out["chosen"])
    with open(args.json, "w") as f:
        json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Where moment retrieval fails (docs/results/moments.md, "What bounds moment R@1"): for each checkpoint, on
`eval moments`' kitml-cmu test sequences (3 parts, seed 0), split R@1 at IoU 0.5 into finding the query's
sequence and finding its part inside that sequence.

    python docs/scripts/moments_ceiling.py CKPT [CKPT ...] [--on DIR:SPLIT]    (default data/kitml:test)

- sequence R@1: the query's best window lies in its own sequence (the windows' best score per sequence);
- own-sequence R@1 at IoU 0.5 / 0.7: the same ranking restricted to the query's own sequence;
- R@1 at IoU 0.5 with one window length only (2, 4 or 8 s), and the lengths of the top windows.
A query's moment is found only when both steps succeed, so sequence R@1 bounds moment R@1 from above.
"""
from __future__ import annotations

import argparse

import numpy as np


def ceiling(path: str, data: str = "data/kitml", split: str = "test") -> dict:
    from lexmotion.models.checkpoint import load
    from retrieval import moments
    model = load(path)
    seqs = moments.build_sequences(data, split)
    scores, spans, queries = moments.window_scores(model, seqs)
    seq_of, length = np.array([s for s, _, _ in spans]), np.array([b - a for _, a, b in spans])
    truth = np.array([s for s, _ in queries])
    best = np.stack([scores[:, seq_of == s].max(1) for s in range(len(seqs))], 1)

    def recall(s):          # single windows, the reading these figures were made with
        return moments.moment_recall(s, spans, queries, tolerance=0.0)

    own = recall(np.where(seq_of[None] == truth[:, None], scores, -np.inf))
    out = {"queries": len(queries), "windows": len(spans),
           "moment_R1_iou0.5": recall(scores)["moment_R1_iou0.5"],
           "sequence_R1": float((best.argmax(1) == truth).mean()),
           "own_sequence_R1_iou0.5": own["moment_R1_iou0.5"], "own_sequence_R1_iou0.7": own["moment_R1_iou0.7"]}
    for seconds in moments.WINDOWS_S:
        only = np.where(np.isclose(length, seconds)[None], scores, -np.inf)
        out[f"only_{seconds:g}s_R1_iou0.5"] = recall(only)["moment_R1_iou0.5"]
    top = length[scores.argmax(1)]
    out["top_window_lengths"] = {f"{s:g}s": int(np.isclose(top, s).sum()) for s in moments.WINDOWS_S}
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+")
    p.add_argument("--on", default="data/kitml:test", help="DIR:SPLIT of the sequences (default data/kitml:test)")
    args = p.parse_args()
    data, _, split = args.on.rpartition(":")
    rows = {path: ceiling(path, data, split) for path in args.models}
    first = next(iter(rows.values()))
    keys = [k for k in first if k not in ("queries", "windows", "top_window_lengths")]
    print(f"{first['queries']} queries over {first['windows']} windows")
    print("| checkpoint | " + " | ".join(keys) + " | top windows 2/4/8 s |")
    print("|---" * (len(keys) + 2) + "|")
    for path, r in rows.items():
        print(f"| {path} | " + " | ".join(f"{r[k]:.3f}" for k in keys) + " | "
              + "/".join(str(v) for v in r["top_window_lengths"].values()) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What a windowed index of one window length finds, against the benchmark's 2, 4 and 8 s windows together
(docs/results/moments.md, "One window length, as an index builds it"). An index built with `--window W
--stride S` holds windows of one length; `eval moments` ranks windows of three lengths. Here the benchmark's
kitml-cmu test sequences are searched through windows of one length, every half a length, with hits grown
as a windowed index grows them (``retrieval.index.MOMENT_TOLERANCE``) and as single windows.

    python docs/scripts/moments_index_windows.py CKPT [CKPT ...] --json OUT
"""
from __future__ import annotations

import argparse
import json

import numpy as np

LENGTHS_S = (2.0, 4.0)


def main() -> int:
    from lexmotion.data.features import WORKING_FPS
    from lexmotion.models.checkpoint import load
    from retrieval import moments
    from retrieval.collection import windows
    from retrieval.index import MOMENT_TOLERANCE
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+")
    p.add_argument("--json", required=True)
    args = p.parse_args()
    seqs = moments.build_sequences("data/kitml", "test")
    queries = moments._queries(seqs)
    out = {"sequences": len(seqs), "queries": len(queries), "tolerance": MOMENT_TOLERANCE, "runs": {}}
    for path in args.models:
        model = load(path)
        text = moments._rows(model.encode_text([part["caption"] for _, part in queries]))
        run = {}
        layouts = {"2, 4 and 8 s (the benchmark)": moments.sequence_windows(seqs, model.config.motion.max_frames)}
        for seconds in LENGTHS_S:
            size = round(seconds * WORKING_FPS)
            layouts[f"{seconds:g} s every {seconds / 2:g} s"] = [
                (s, a / WORKING_FPS, b / WORKING_FPS) for s, seq in enumerate(seqs)
                for a, b in windows(len(seq.features), size, size // 2)]
        for name, spans in layouts.items():
            scores = text @ moments._window_vectors(model, seqs, spans, False).T
            run[name] = {f"{how} {k}": v for how, t in (("grown", MOMENT_TOLERANCE), ("single", 0.0))
                         for k, v in moments.moment_recall(scores, spans, queries, tolerance=t).items()
                         if k.startswith("moment_R")}
        out["runs"][path] = run
        print(path, json.dumps(run, indent=1))
    names = list(next(iter(out["runs"].values())))
    out["mean"] = {n: {k: float(np.mean([r[n][k] for r in out["runs"].values()])) for k in out["runs"][args.models[0]][n]}
                   for n in names}
    for n in names:
        print(n, {k: round(v, 3) for k, v in out["mean"][n].items() if "R1_iou0.5" in k or "R5_iou0.5" in k})
    with open(args.json, "w") as f:
        json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Is the centred crop what holds long clips back? (docs/results/default-recipe.md, "Whole takes"): t2m
retrieval on kitml-cmu test (protocol all) and cmu-extra test (protocol threshold) when a clip longer than
the encoder's window is judged by its centred crop, as `eval retrieval` and the indexes do, against
judging it whole: windows of the encoder's length overlapping by at least half, their vectors averaged
(`--pool max`: a lexical vector takes each word's largest weight over the windows instead; a lexical
vector is pruned to the checkpoint's `motion_max_words` after pooling).

    python docs/scripts/whole_take.py --a CKPT [CKPT ...] [--b CKPT ...] [--pool mean|max] [--json OUT]

Each group of checkpoints (e.g. three seeds) is scored both ways, and "whole" is compared with "crop" by
`eval compare`'s paired bootstrap over queries and seeds (B = whole, A = crop).
"""
from __future__ import annotations

import argparse
import json
import math

import numpy as np
import torch

TESTS = {"kitml": ("data/kitml", "all"), "cmu-extra": ("data/cmu-extra", "threshold")}


def whole_take_vectors(model, pool: str = "mean"):
    """A replacement for MODEL.motion_vectors that pools the vectors of windows covering each clip."""
    width = model.config.motion.max_frames
    network = model.motion_lexical if model.has_words else model.motion_vectors     # bound before it is replaced

    def motion_vectors(motion, mask):
        out = []
        for b in range(motion.shape[0]):
            frames = int(mask[b].sum())
            count = math.ceil((frames - width) / (width // 2)) + 1 if frames > width else 1
            starts = np.linspace(0, max(frames - width, 0), count).round().astype(int)
            windows = torch.stack([motion[b, s:s + min(width, frames)] for s in starts])
            window_mask = torch.ones(windows.shape[:2], dtype=torch.bool, device=windows.device)
            if model.has_words:
                vectors = network(windows, window_mask, prune=False)
                pooled = vectors.max(0, keepdim=True).values if pool == "max" else vectors.mean(0, keepdim=True)
                out.append(model.prune_motion(pooled))
            else:                                    # dense vectors are compared by cosine: average directions
                vectors = torch.nn.functional.normalize(network(windows, window_mask), dim=-1)
                out.append(vectors.mean(0, keepdim=True))
        return torch.cat(out)
    return motion_vectors


def score(path: str, whole: bool, pool: str = "mean") -> dict:
    from lexmotion.models.checkpoint import load
    from retrieval.evaluate import evaluate_protocols
    model = load(path)
    width = model.config.motion.max_frames
    if whole:
        model.motion_vectors = whole_take_vectors(model, pool)
        model.config.motion.max_frames = 10 ** 9     # the dataset then hands over whole clips, uncropped
    out = {}
    try:
        for name, (data, protocol) in TESTS.items():
            result = evaluate_protocols(model, data, "test", (protocol,), keep_ranks=True)[0]
            out[name] = {"t2m": result["t2m"], "query_ranks": result["query_ranks"]}
    finally:
        model.config.motion.max_frames = width
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--a", nargs="+", required=True, help="checkpoints of one recipe (e.g. its seeds)")
    parser.add_argument("--b", nargs="*", default=[], help="a second group, e.g. dense on the same data")
    parser.add_argument("--pool", choices=("mean", "max"), default="mean",
                        help="how a lexical clip's window vectors are pooled (dense ones are always averaged)")
    parser.add_argument("--json", help="write every figure and interval here")
    args = parser.parse_args()
    from retrieval.compare import compare_ranks
    report = {}
    print("| checkpoints | test | crop R@1 | whole R@1 | crop R@10 | whole R@10 | whole − crop R@1 [95%] | "
          "whole − crop R@10 [95%] |")
    print("|---|---|---|---|---|---|---|---|")
    for label, paths in (("a", args.a), ("b", args.b)):
        if not paths:
            continue
        runs = {mode: [score(p, mode == "whole", args.pool) for p in paths] for mode in ("crop", "whole")}
        report[label] = {"checkpoints": paths, "tests": {}}
        for test in TESTS:
            def mean_std(mode, metric):
                values = [r[test]["t2m"][metric] for r in runs[mode]]
                return f"{np.mean(values):.2f} ± {np.std(values):.2f}"
            diff = compare_ranks([r[test]["query_ranks"] for r in runs["crop"]],
                                 [r[test]["query_ranks"] for r in runs["whole"]])["t2m"]
            report[label]["tests"][test] = {
                mode: [dict(r[test]["t2m"]) for r in runs[mode]] for mode in runs}
            report[label]["tests"][test]["whole_minus_crop"] = diff
            cells = [f"{diff[m]['difference']:+.2f} [{diff[m]['low']:+.2f}, {diff[m]['high']:+.2f}]"
                     for m in ("R@1", "R@10")]
            print(f"| {label}: {len(paths)} | {test} | {mean_std('crop', 'R@1')} | {mean_std('whole', 'R@1')} | "
                  f"{mean_std('crop', 'R@10')} | {mean_std('whole', 'R@10')} | {cells[0]} | {cells[1]} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""More like this, with the served motion vectors re-weighted before the cosine: does a re-weighting recover
what the lexical vectors lose on Bandai-2 (docs/results/more-like.md)?

    python docs/scripts/more_like_reweight.py --model runs/grid/phases/lexcmlp-1447018292 --data data/bandai

Each variant ranks the split's other takes by the cosine of re-weighted vectors: as served; centred on the
split's mean vector; each word times its idf over the split; a z-score per word; only the words over the
checkpoint's calibrated thresholds. It prints the readings of `more_like.py` for each.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from more_like import cosine_rankings, labels_of, readings  # noqa: E402


def main() -> None:
    from lexmotion.models.checkpoint import load
    from retrieval.collection import build_index
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="a lexical checkpoint")
    p.add_argument("--data", required=True, help="a dataset with content and style labels (Bandai)")
    p.add_argument("--split", default="test")
    args = p.parse_args()
    index = build_index(load(args.model), args.model, args.data, args.split, backend="sparse", progress=False)
    ids = [item["id"] for item in index.items]
    x = index.raw_vectors.toarray()
    labels = labels_of(args.data, args.split, ids)
    held = np.maximum((x > 0).mean(0), 1e-6)
    limits = index.word_limits()
    variants = {"as served": x, "centred": x - x.mean(0), "idf": x * np.log(1 / held),
                "z-score": (x - x.mean(0)) / (x.std(0) + 1e-3)}
    if limits is not None:
        variants["over thresholds"] = np.where(x > limits, x, 0)
    print("| vectors | content P@10 | content AP | style P@10 | content, other style P@10 |\n|---|---|---|---|---|")
    for name, v in variants.items():
        r = readings(cosine_rankings(v), labels)
        print(f"| {name} | {np.mean(r['content']['p10']):.3f} | {np.mean(r['content']['ap']):.3f} | "
              f"{np.mean(r['style']['p10']):.3f} | {np.mean(r['content_other_style']['p10']):.3f} |")


if __name__ == "__main__":
    main()

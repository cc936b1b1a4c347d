"""Everyday queries over cmu-extra test (the grid's EVERYDAY, precision@10) with and without the hub prior, on the
default's checkpoints (docs/results/querybank.md).

    python docs/scripts/querybank_everyday.py --json docs/results/querybank/everyday.json

Each checkpoint is scored as it is (plain cosine), then with the query bank of its LexCMLP's training captions
(data/kitml-desc and data/cmu-extra, beta 25, `BETA`), what `lexmotion index querybank` gives it.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import grid  # noqa: E402
from querybank_beta import BANK  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--json", help="write every figure here")
    args = parser.parse_args()
    import lexmotion
    from lexmotion.models.querybank import BETA, make_querybank
    from pretrain.data_sources import data_sources
    bank = make_querybank(data_sources(BANK), BETA)
    results = {}
    for kind, row in (("lexical", "localise"), ("dense", "dense-descriptions-long")):
        for prior in (False, True):
            runs = []
            for seed in (int(s) for s in args.seeds.split(",")):
                model = lexmotion.load(grid.plan(row, seed, Path("runs/grid"))[-1]["folder"]).eval()
                model.querybank = bank if prior else None
                runs.append(grid.everyday(model))
            key = f"{kind}{' + hub prior' if prior else ''}"
            results[key] = {"mean": float(np.mean([r["mean"] for r in runs])),
                            "std": float(np.std([r["mean"] for r in runs])),
                            "per_query": {q: float(np.mean([r["precision@10"][q] for r in runs])) for q in grid.EVERYDAY}}
            print(f"{key}: everyday P@10 {results[key]['mean']:.3f} ± {results[key]['std']:.3f}  "
                  + ", ".join(f"{q}: {v:.2f}" for q, v in results[key]["per_query"].items()))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

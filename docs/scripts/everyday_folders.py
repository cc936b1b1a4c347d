"""Issue 33's everyday queries (grid.py's EVERYDAY, precision@10 over cmu-extra test) on two rows' checkpoint
folders, read two ways: on the plain cosine, as the grid scores rows, and as served (each clip's hub prior taken
off, when the folder holds a query bank). JSON to --json.

    python docs/scripts/everyday_folders.py --a FOLDER ... --b FOLDER ... --json OUT
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

import lexmotion

sys.path.insert(0, str(Path(__file__).parent))
import grid  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--a", nargs="+", required=True)
parser.add_argument("--b", nargs="+", required=True)
parser.add_argument("--json", required=True)
args = parser.parse_args()
result = {}
for side in ("a", "b"):
    result[side] = {}
    for reading in ("plain", "served"):
        runs = {}
        for folder in getattr(args, side):
            model = lexmotion.load(folder)
            if reading == "plain":
                model.querybank = None
            runs[folder] = grid.everyday(model)
        means = [r["mean"] for r in runs.values()]
        result[side][reading] = {"runs": runs, "mean": float(np.mean(means)), "std": float(np.std(means, ddof=1))}
        print(f"{side.upper()}, {reading}: everyday P@10 {np.mean(means):.3f} ± {np.std(means, ddof=1):.3f} "
              f"({', '.join(f'{m:.2f}' for m in means)})")
Path(args.json).write_text(json.dumps(result, indent=1))

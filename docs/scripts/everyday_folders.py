"""Issue 33's everyday queries (grid.py's EVERYDAY, precision@10 over cmu-extra test, plain cosine) on the given
checkpoint folders, scored in one process so that two rows' folders are read alike; JSON to --json.

    python docs/scripts/everyday_folders.py --a FOLDER ... --b FOLDER ... --json OUT
"""
import argparse
import importlib.util
import json
from pathlib import Path

import numpy as np

import lexmotion

spec = importlib.util.spec_from_file_location("grid", Path(__file__).with_name("grid.py"))
grid = importlib.util.module_from_spec(spec)
spec.loader.exec_module(grid)

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--a", nargs="+", required=True)
parser.add_argument("--b", nargs="+", required=True)
parser.add_argument("--json", required=True)
args = parser.parse_args()
result = {}
for side in ("a", "b"):
    runs = {folder: grid.everyday(lexmotion.load(folder)) for folder in getattr(args, side)}
    means = [r["mean"] for r in runs.values()]
    result[side] = {"runs": runs, "mean": float(np.mean(means)), "std": float(np.std(means, ddof=1))}
    print(f"{side.upper()}: everyday P@10 {result[side]['mean']:.3f} ± {result[side]['std']:.3f} "
          f"({', '.join(f'{m:.2f}' for m in means)})")
Path(args.json).write_text(json.dumps(result, indent=1))

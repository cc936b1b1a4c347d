#!/usr/bin/env bash
# Word timelines of the previous default (grid row descriptions-long) and the localisation hinge's default
# (grid row localise), seed 0 each, on two multi-action cmu-extra *test* takes (subjects no phase saw):
# docs/results/moments/timelines-<take>-<row>.png and .json. Run from the repository root after
# `python docs/scripts/grid.py --rows descriptions-long,localise --seeds 0`.
set -euo pipefail
R=docs/results/moments
W=runs/timelines-localise      # gitignored: the JSON then names the take by a path inside the repository
mkdir -p "$W"
declare -A MODEL=([descriptions-long]=runs/grid/phases/lexcmlp-c84eb4401a [localise]=runs/grid/phases/lexcmlp-3de739b0a3)
declare -A WORDS=([09_12]=walk,forward,backward,sideways [22_17]=run,wrestle,arm,sit)
for take in 09_12 22_17; do
  fps=$(python - data/cmu-extra "$take" "$W/$take.npy" <<'PY'
import sys
import numpy as np
from lexmotion.data.dataset import MotionDataset
ds = MotionDataset(sys.argv[1])
row = ds.row(ds.find(sys.argv[2]))
np.save(sys.argv[3], row["joints"])
print(row["fps"])
PY
)
  for row in descriptions-long localise; do
    lexmotion explain --model "${MODEL[$row]}" --motion "$W/$take.npy" --fps "$fps" --words "${WORDS[$take]}" \
        --plot "$R/timelines-$take-$row.png" --json > "$R/timelines-$take-$row.json"
  done
done
rm -rf "$W"

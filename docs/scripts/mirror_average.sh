#!/usr/bin/env bash
# Test-time mirror averaging (the model config's mirror_average) on the default (grid row localise, seeds 0-2)
# and on dense trained on the same data (grid row dense-descriptions-long, seeds 0-2; seed 0 alone first, as
# dense-seed0-*.json): retrieval as served (hub prior included) with and without it, paired over queries (and seeds), on
# kitml-cmu test (protocol all) and cmu-extra test (protocol threshold). Figures: docs/results/mirror.md.
# Run from the repository root after `python docs/scripts/grid.py --rows localise,dense-descriptions-long --seeds 0,1,2`.
set -euo pipefail
P=runs/grid/phases
L=($P/lexcmlp-3de739b0a3 $P/lexcmlp-2a5233977d $P/lexcmlp-5ec9ac8a56)     # localise, seeds 0-2
D=($P/dense-1cfcf558ac $P/dense-fa9d1e2950 $P/dense-d3013d37e7)          # dense-descriptions-long, seeds 0-2
R=docs/results/mirror
mkdir -p $R
python docs/scripts/mirror_average.py "${L[@]}" --data data/kitml --json $R/lexical-kitml.json
python docs/scripts/mirror_average.py "${L[@]}" --data data/cmu-extra --protocol threshold --json $R/lexical-cmu-extra.json
python docs/scripts/mirror_average.py "${D[@]}" --data data/kitml --json $R/dense-kitml.json
python docs/scripts/mirror_average.py "${D[@]}" --data data/cmu-extra --protocol threshold --json $R/dense-cmu-extra.json

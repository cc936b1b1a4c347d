#!/usr/bin/env bash
# Moments grown from their best window (retrieval.index.MOMENT_TOLERANCE, chosen by
# `python docs/scripts/moment_tolerance.py` on kitml-cmu val and cmu-extra test) against single windows, on the
# moment benchmark's kitml-cmu test sequences: the default (grid row localise) and dense on the same data
# (dense-descriptions-long), seeds 0-2. docs/results/moments.md, "A moment grows from its best window".
# Run from the repository root after `python docs/scripts/grid.py --rows localise,dense-descriptions-long`.
set -euo pipefail
P=runs/grid/phases
L=($P/lexcmlp-3de739b0a3 $P/lexcmlp-2a5233977d $P/lexcmlp-5ec9ac8a56)
D=($P/dense-1cfcf558ac $P/dense-fa9d1e2950 $P/dense-d3013d37e7)
R=docs/results/moments
python docs/scripts/moment_tolerance.py "${L[@]}" --dense "${D[@]}" --json $R/tolerance-select.json
lexmotion eval moments --model "${L[@]}" --dense "${D[@]}" --data data/kitml --moment-tolerance 0 \
    --json $R/single-windows.json --quiet
lexmotion eval moments --model "${L[@]}" --dense "${D[@]}" --data data/kitml --against "${D[@]}" \
    --json $R/grown.json --quiet
python docs/scripts/moments_paired.py $R/single-windows.json $R/grown.json

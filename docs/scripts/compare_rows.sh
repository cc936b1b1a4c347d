#!/usr/bin/env bash
# `lexmotion eval compare` of grid row B against grid row A (their seeds 0-2, as served: hub prior included) on
# kitml-cmu test (protocol all) and cmu-extra test (protocol threshold), written to
# docs/results/cmu-words/compare-kitml[-NAME].json and compare-cmu-extra[-NAME].json. SEEDS (e.g. SEEDS=0) keeps
# only those seeds of both rows, for one-seed probes.
#     bash docs/scripts/compare_rows.sh A B [NAME]
# Run from the repository root once both rows are trained (docs/scripts/grid.py).
set -euo pipefail
S=(${SEEDS:+--seeds $SEEDS})
A=($(python docs/scripts/grid.py --rows $1 "${S[@]}" --folders))
B=($(python docs/scripts/grid.py --rows $2 "${S[@]}" --folders))
R=docs/results/cmu-words
mkdir -p $R
lexmotion eval compare --a "${A[@]}" --b "${B[@]}" --data data/kitml --json $R/compare-kitml${3:+-$3}.json --quiet
lexmotion eval compare --a "${A[@]}" --b "${B[@]}" --data data/cmu-extra --protocol threshold \
    --json $R/compare-cmu-extra${3:+-$3}.json --quiet

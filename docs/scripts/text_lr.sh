#!/usr/bin/env bash
# Grid row text-lr (issue 33's kitml-cmu R@1): the default (grid row cmu-words) with LexCMLP's text encoder at
# text_lr 1e-4, 5x the 2e-5 that every phase has used. It shares the default's LexMLM, CMMM and LexMMM folders.
# The rule, written before any figure: text-lr replaces the default's LexCMLP only if `eval compare` puts its
# kitml-cmu t2m R@1 above the default's (interval above 0) and no other test figure below it (interval below 0).
# Trains the row's seeds (SEEDS, default "0 1 2"; run one seed per process to train them side by side), then
# compares it with the default and with dense on the same data, as served. Run from the repository root.
set -euo pipefail
for seed in ${SEEDS:-0 1 2}; do
  python docs/scripts/grid.py --rows text-lr --seeds $seed
done
T=($(python docs/scripts/grid.py --rows text-lr --folders))
B=($(python docs/scripts/grid.py --rows cmu-words --folders))
D=($(python docs/scripts/grid.py --rows dense-cmu-words --folders))
for t in "${T[@]}"; do [ -f $t/DONE ] || { echo "$t not trained yet"; exit 0; }; done
R=docs/results/cmu-words
bash docs/scripts/compare_rows.sh cmu-words text-lr text-lr-vs-default
bash docs/scripts/compare_rows.sh dense-cmu-words text-lr text-lr-vs-dense
lexmotion eval moments --model "${T[@]}" --against "${B[@]}" --data data/kitml --json $R/moments-text-lr.json --quiet

#!/usr/bin/env bash
# Grid row text-lr-3e-4: the default (grid row text-lr) with LexCMLP's text encoder at 3e-4, the rate of the rest of
# the model, against text-lr's 1e-4. It shares the default's LexMLM, CMMM and LexMMM folders.
# The rule, written before any seed finished: text-lr-3e-4 replaces the default's LexCMLP only if `eval compare`
# (seeds 0-2, as served) puts its kitml-cmu t2m R@1 or its cmu-extra t2m R@10 above the default's (interval above 0),
# and no other test figure of either test set, nor word AP on kitml-cmu test (`eval words`, words_intervals.py),
# below it (interval below 0). Dense then gets the same rate only by dense_text_lr.sh's rule, run again for it.
# Trains the row's seeds (SEEDS, default "0 1 2"; run one seed per process to train them side by side), then
# compares it with the default and with dense, as served. Run from the repository root.
set -euo pipefail
for seed in ${SEEDS:-0 1 2}; do
  python docs/scripts/grid.py --rows text-lr-3e-4 --seeds $seed
done
N=($(python docs/scripts/grid.py --rows text-lr-3e-4 --folders))
T=($(python docs/scripts/grid.py --rows text-lr --folders))
for n in "${N[@]}"; do [ -f $n/DONE ] || { echo "$n not trained yet"; exit 0; }; done
R=docs/results/cmu-words
bash docs/scripts/compare_rows.sh text-lr text-lr-3e-4 text-lr-3e-4-vs-default
bash docs/scripts/compare_rows.sh dense-text-lr text-lr-3e-4 text-lr-3e-4-vs-dense-text-lr
lexmotion eval words --model "${N[@]}" --data data/kitml --json $R/kitml-words-text-lr-3e-4.json --quiet
lexmotion eval words --model "${N[@]}" --data data/bandai --json $R/bandai-words-text-lr-3e-4.json --quiet
lexmotion eval moments --model "${N[@]}" --against "${T[@]}" --data data/kitml --json $R/moments-text-lr-3e-4.json --quiet

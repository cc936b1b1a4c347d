#!/usr/bin/env bash
# Grid row speeds: the default (grid row text-lr) with LexCMLP's training clips replayed at 0.9, 1.0 or 1.1 times
# their speed (`speeds`, docs/pretraining.md). It shares the default's LexMLM, CMMM and LexMMM folders.
# The rule, written before any seed trained: speeds joins the default's LexCMLP only if `eval compare` (seeds 0-2, as
# served, seeds and queries resampled) puts its kitml-cmu t2m R@1 or its cmu-extra t2m R@10 above the default's
# (interval above 0), and nothing falls measurably (interval below 0): no other retrieval figure of either test set,
# nor word AP on kitml-cmu test or Bandai-2 label AP (`eval words`, words_intervals.py), nor word localisation or
# moment R@1 (`eval moments --against`). Dense then gets the same rates only by the same rule, run again for it.
# Trains the row's seeds (SEEDS, default "0 1 2"; run one seed per process to train them side by side), then
# compares it with the default, as served. Run from the repository root.
set -euo pipefail
for seed in ${SEEDS:-0 1 2}; do
  python docs/scripts/grid.py --rows speeds --seeds $seed
done
N=($(python docs/scripts/grid.py --rows speeds --folders))
T=($(python docs/scripts/grid.py --rows text-lr --folders))
for n in "${N[@]}"; do [ -f $n/DONE ] || { echo "$n not trained yet"; exit 0; }; done
R=docs/results/speeds
mkdir -p $R
bash docs/scripts/compare_rows.sh text-lr speeds speeds-vs-default
lexmotion eval words --model "${T[@]}" --data data/kitml --json $R/kitml-words-default.json --quiet
lexmotion eval words --model "${N[@]}" --data data/kitml --json $R/kitml-words-speeds.json --quiet
lexmotion eval words --model "${T[@]}" --data data/bandai --json $R/bandai-words-default.json --quiet
lexmotion eval words --model "${N[@]}" --data data/bandai --json $R/bandai-words-speeds.json --quiet
lexmotion eval moments --model "${N[@]}" --against "${T[@]}" --data data/kitml --json $R/moments-speeds.json --quiet

#!/usr/bin/env bash
# Grid row dense-cmu-words (issue 33): the dense baseline on exactly the default's data, CMU's descriptions read as
# words (the fifth switch). The dense row compared so far (dense-descriptions-long) trained on the descriptions as
# written, so "above dense's trained on the same data" was read against a model on other captions.
# Trains the row's seeds (SEEDS, default "0 1 2"), then compares the default (grid row cmu-words) with it, as served.
# Run from the repository root after bash docs/scripts/cmu_words.sh.
set -euo pipefail
for seed in ${SEEDS:-0 1 2}; do
  python docs/scripts/grid.py --rows dense-cmu-words --seeds $seed
done
D=($(python docs/scripts/grid.py --rows dense-cmu-words --folders))
B=($(python docs/scripts/grid.py --rows cmu-words --folders))
for d in "${D[@]}"; do [ -f $d/DONE ] || { echo "$d not trained yet"; exit 0; }; done
R=docs/results/cmu-words
bash docs/scripts/compare_rows.sh dense-cmu-words cmu-words dense-words
lexmotion eval moments --model "${B[@]}" --against "${D[@]}" --data data/kitml --json $R/moments-dense-words.json --quiet

#!/usr/bin/env bash
# A LexCMLP-only grid row (one whose config rests on text-lr.json and changes LexCMLP alone, so it shares the
# default's LexMLM, CMMM and LexMMM folders) against the default (grid row text-lr), as served. Trains the row's
# seeds (SEEDS, default "0 1 2"; run one seed per process to train them side by side), then, once all three are
# trained, writes `eval compare` on both test sets (docs/results/cmu-words/compare-*-ROW-vs-default.json), `eval
# words` on kitml-cmu test and Bandai-2 test, and `eval moments --against` the default, under docs/results/ROW/.
# Each row's rule is in the header of the script that calls this one.
#     bash docs/scripts/lexcmlp_row.sh ROW
# Run from the repository root.
set -euo pipefail
ROW=$1
for seed in ${SEEDS:-0 1 2}; do
  python docs/scripts/grid.py --rows $ROW --seeds $seed
done
N=($(python docs/scripts/grid.py --rows $ROW --folders))
T=($(python docs/scripts/grid.py --rows text-lr --folders))
for n in "${N[@]}"; do [ -f $n/DONE ] || { echo "$n not trained yet"; exit 0; }; done
R=docs/results/$ROW
mkdir -p $R
env -u SEEDS bash docs/scripts/compare_rows.sh text-lr $ROW $ROW-vs-default     # all three seeds, whichever SEEDS trained
lexmotion eval words --model "${T[@]}" --data data/kitml --json $R/kitml-words-default.json --quiet
lexmotion eval words --model "${N[@]}" --data data/kitml --json $R/kitml-words-$ROW.json --quiet
lexmotion eval words --model "${T[@]}" --data data/bandai --json $R/bandai-words-default.json --quiet
lexmotion eval words --model "${N[@]}" --data data/bandai --json $R/bandai-words-$ROW.json --quiet
lexmotion eval moments --model "${N[@]}" --against "${T[@]}" --data data/kitml --json $R/moments-$ROW.json --quiet

#!/usr/bin/env bash
# Grid row mirror-pairs: the default then (grid row text-lr) with LexCMLP telling each side-naming pair from its mirror
# image (settings.mirror_pairs 1, docs/pretraining.md). It shares the default's LexMLM, CMMM and LexMMM folders.
# The rule, in pretrain/configs/grid/mirror-pairs.json before any run: judged on Bandai-2 test "more like this"
# against the default, by the turn and one-hand actions' P@10 and action P@10 with its interval; adopted only after
# three seeds, with action P@10 measurably higher and neither kitml-cmu nor cmu-extra t2m R@10 measurably lower.
# Trains the seeds (SEEDS, default "0 1 2"; one seed per process to train them side by side), then, once all three
# are trained, writes under docs/results/mirror-pairs/: more like this and side pairs against the default,
# `eval compare` on both test sets (docs/results/cmu-words/compare-*-mirror-pairs-vs-default.json), `eval words`
# on kitml-cmu test and Bandai-2 test, `eval moments --against` the default, and the everyday queries of both. The
# default's own `eval words` figures are those of docs/results/crop-frame/ (the same three folders).
# Run from the repository root.
set -euo pipefail
for seed in ${SEEDS:-0 1 2}; do
  python docs/scripts/grid.py --rows mirror-pairs --seeds $seed --train
done
N=($(python docs/scripts/grid.py --rows mirror-pairs --folders))
T=($(python docs/scripts/grid.py --rows text-lr --folders))
for n in "${N[@]}"; do [ -f $n/DONE ] || { echo "$n not trained yet"; exit 0; }; done
R=docs/results/mirror-pairs
mkdir -p $R
python docs/scripts/side_pairs.py --a "${T[@]}" --b "${N[@]}" --data data/kitml data/bandai --json $R/side-pairs.json
python docs/scripts/more_like.py --model "${N[@]}" --dense "${T[@]}" --model-label mirror-pairs --dense-label default \
    --data data/bandai --split test --json $R/more-like-bandai-test.json
env -u SEEDS bash docs/scripts/compare_rows.sh text-lr mirror-pairs mirror-pairs-vs-default
lexmotion eval words --model "${N[@]}" --data data/kitml --json $R/kitml-words-mirror-pairs.json --quiet
lexmotion eval words --model "${N[@]}" --data data/bandai --json $R/bandai-words-mirror-pairs.json --quiet
lexmotion eval moments --model "${N[@]}" --against "${T[@]}" --data data/kitml --json $R/moments-mirror-pairs.json --quiet
# issue 33's everyday queries on the same folders (the grid's JSON for text-lr predates its folders' retraining)
python docs/scripts/everyday_folders.py --a "${T[@]}" --b "${N[@]}" --json $R/everyday.json

#!/usr/bin/env bash
# Grid row side-words: the default (grid row mirror-pairs) with LexCMLP's side-word term (settings.side_words 1,
# pretrain/phases.py). It shares the default's LexMLM, CMMM and LexMMM folders.
# The rule, written with pretrain/configs/grid/side-words.json before any run:
# - seed 0 first, against the default's seed 0; seeds 1-2 only if Bandai-2 side pairs m2t is higher with its
#   interval above 0, and neither kitml-cmu nor cmu-extra t2m R@10 is measurably lower (eval compare, as served);
# - adopted only after three seeds, with side pairs m2t measurably higher, neither t2m R@10 measurably lower, and
#   neither Bandai-2 "more like this" action P@10 nor kitml-cmu word AP measurably lower.
# Trains the seeds of SEEDS (default "0"), then scores those seeds of both rows under docs/results/side-words/
# (files named -seeds<SEEDS without spaces>): side pairs, the side-word weights, more like this, `eval words` on
# kitml-cmu test and Bandai-2 test, and `eval compare` on both test sets (docs/results/cmu-words/
# compare-*-side-words-vs-default-seeds*.json). Run from the repository root.
set -euo pipefail
SEEDS=${SEEDS:-0}
TAG=seeds${SEEDS// /}
for seed in $SEEDS; do
  python docs/scripts/grid.py --rows side-words --seeds $seed --train
done
N=($(python docs/scripts/grid.py --rows side-words --seeds ${SEEDS// /,} --folders))
D=($(python docs/scripts/grid.py --rows mirror-pairs --seeds ${SEEDS// /,} --folders))
R=docs/results/side-words
mkdir -p $R
python docs/scripts/side_pairs.py --a "${D[@]}" --b "${N[@]}" --data data/bandai data/kitml --json $R/side-pairs-$TAG.json
python docs/scripts/side_words.py --model "${D[@]}" "${N[@]}" --data data/bandai --split test --json $R/side-words-$TAG.json
SEEDS=${SEEDS// /,} bash docs/scripts/compare_rows.sh mirror-pairs side-words side-words-vs-default-$TAG
python docs/scripts/more_like.py --model "${N[@]}" --dense "${D[@]}" --model-label side-words --dense-label default \
    --data data/bandai --split test --json $R/more-like-bandai-test-$TAG.json
lexmotion eval words --model "${N[@]}" --data data/kitml --json $R/kitml-words-$TAG.json --quiet
lexmotion eval words --model "${N[@]}" --data data/bandai --json $R/bandai-words-$TAG.json --quiet

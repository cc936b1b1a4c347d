#!/usr/bin/env bash
# Grid rows side-words and side-lift (ROW, default side-words): the default (grid row mirror-pairs) with LexCMLP's
# side-word term (settings.side_words 1, pretrain/phases.py), and side-lift with the shown side word also lifted
# above the margin (settings.side_lift 1). Both share the default's LexMLM, CMMM and LexMMM folders.
# The rules, each written with its config before any run:
# - side-words: seed 0 first, against the default's seed 0; seeds 1-2 only if Bandai-2 side pairs m2t is higher
#   with its interval above 0, and neither kitml-cmu nor cmu-extra t2m R@10 is measurably lower (eval compare, as
#   served); adopted only after three seeds, with side pairs m2t measurably higher, neither t2m R@10 measurably
#   lower, and neither Bandai-2 "more like this" action P@10 nor kitml-cmu word AP measurably lower.
#   (Seed 0 lowered side pairs m2t: docs/results/more-like.md, "Side words".)
# - side-lift: seed 0 first, against the default's seed 0; seeds 1-2 only if Bandai-2 label AP is higher with its
#   interval above 0, side pairs m2t is not measurably lower, and neither t2m R@10 is measurably lower; adopted
#   only after three seeds, with Bandai-2 label AP measurably higher, and neither t2m R@10, kitml-cmu word AP nor
#   "more like this" action P@10 measurably lower.
# Trains the seeds of SEEDS (default "0"), then scores those seeds of both rows under docs/results/$ROW/
# (files named -seeds<SEEDS without spaces>): side pairs, the side-word weights and logits, more like this,
# `eval words` on kitml-cmu test and Bandai-2 test with their intervals against the default's same seeds, and
# `eval compare` on both test sets (docs/results/cmu-words/compare-*-$ROW-vs-default-seeds*.json).
# Run from the repository root.
set -euo pipefail
ROW=${ROW:-side-words}
SEEDS=${SEEDS:-0}
TAG=seeds${SEEDS// /}
for seed in $SEEDS; do
  python docs/scripts/grid.py --rows $ROW --seeds $seed --train
done
N=($(python docs/scripts/grid.py --rows $ROW --seeds ${SEEDS// /,} --folders))
D=($(python docs/scripts/grid.py --rows mirror-pairs --seeds ${SEEDS// /,} --folders))
R=docs/results/$ROW
mkdir -p $R
python docs/scripts/side_pairs.py --a "${D[@]}" --b "${N[@]}" --data data/bandai data/kitml --json $R/side-pairs-$TAG.json
python docs/scripts/side_words.py --model "${D[@]}" "${N[@]}" --data data/bandai --split test --logits \
    --json $R/side-words-$TAG.json
SEEDS=${SEEDS// /,} bash docs/scripts/compare_rows.sh mirror-pairs $ROW $ROW-vs-default-$TAG
python docs/scripts/more_like.py --model "${N[@]}" --dense "${D[@]}" --model-label $ROW --dense-label default \
    --data data/bandai --split test --json $R/more-like-bandai-test-$TAG.json
lexmotion eval words --model "${N[@]}" --data data/kitml --json $R/kitml-words-$TAG.json --quiet
lexmotion eval words --model "${N[@]}" --data data/bandai --json $R/bandai-words-$TAG.json --quiet
# the default's seeds of SEEDS, by their place in the files of docs/scripts/mirror_pairs.sh (seeds 0-2)
PLACES=${SEEDS// /,}
for data in kitml bandai; do
  for key in ap ap_query; do
    c="python docs/scripts/words_intervals.py docs/results/mirror-pairs/$data-words-mirror-pairs.json:$PLACES $key $R/$data-words-$TAG.json $key"
    echo "\$ $c"; $c
  done
done | tee $R/words-intervals-$TAG.txt

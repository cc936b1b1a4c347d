#!/usr/bin/env bash
# Grid row dense-mirror-pairs: the dense baseline with the mirror pairs of grid row mirror-pairs (settings.mirror_pairs
# 1), trained because mirror-pairs passed its rule (docs/results/more-like.md) and dense reads the setting too.
# The rule, written before any seed trained: default.json takes mirror_pairs 1 for LexCMLP and dense together, so
# that `pretrain dense` trains the baseline on the same pairs as the lexical model. The README's dense column keeps
# dense_text_lr.sh's rule: it quotes whichever dense row has the higher kitml-cmu t2m R@1 mean as served, the
# stronger baseline, of the two whose folders are on disk to pair with (dense-text-lr, dense-mirror-pairs;
# dense-cmu-words' were lost with an earlier checkout, and its last figures stay in default-recipe.md). Its side
# pairs and "more like this" are reported against dense-text-lr whatever they show.
# Trains the seeds (SEEDS, default "0 1 2"; one seed per process to train them side by side), then, once all three
# are trained, writes under docs/results/mirror-pairs/: side pairs and more like this against dense-text-lr,
# `eval compare` of dense-mirror-pairs against dense-text-lr, and of mirror-pairs against each of the two
# (docs/results/cmu-words/compare-*-{dense-mirror-pairs-vs-dense,mirror-pairs-vs-dense-mirror-pairs,
# mirror-pairs-vs-dense-text-lr}.json), side pairs and more like this of mirror-pairs against each
# (side-pairs-vs-ROW.json, more-like-vs-ROW.json), and `eval moments` of mirror-pairs against each. Run from the
# repository root.
set -euo pipefail
for seed in ${SEEDS:-0 1 2}; do
  python docs/scripts/grid.py --rows dense-mirror-pairs --seeds $seed --train
done
N=($(python docs/scripts/grid.py --rows dense-mirror-pairs --folders))
D=($(python docs/scripts/grid.py --rows dense-text-lr --folders))
M=($(python docs/scripts/grid.py --rows mirror-pairs --folders))
for n in "${N[@]}"; do [ -f $n/DONE ] || { echo "$n not trained yet"; exit 0; }; done
R=docs/results/mirror-pairs
mkdir -p $R
python docs/scripts/side_pairs.py --a "${D[@]}" --b "${N[@]}" --data data/kitml data/bandai --json $R/side-pairs-dense.json
python docs/scripts/more_like.py --model "${N[@]}" --dense "${D[@]}" --model-label dense-mirror-pairs \
    --dense-label dense-text-lr --data data/bandai --split test --json $R/more-like-dense-bandai-test.json
env -u SEEDS bash docs/scripts/compare_rows.sh dense-text-lr dense-mirror-pairs dense-mirror-pairs-vs-dense
env -u SEEDS bash docs/scripts/compare_rows.sh dense-mirror-pairs mirror-pairs mirror-pairs-vs-dense-mirror-pairs
env -u SEEDS bash docs/scripts/compare_rows.sh dense-text-lr mirror-pairs mirror-pairs-vs-dense-text-lr
# the README's headline reads these for its dense column (docs/scripts/headline_table.py)
for row in dense-mirror-pairs dense-text-lr; do
  X=($(python docs/scripts/grid.py --rows $row --folders))
  python docs/scripts/side_pairs.py --a "${X[@]}" --b "${M[@]}" --data data/bandai --json $R/side-pairs-vs-$row.json
  python docs/scripts/more_like.py --model "${M[@]}" --dense "${X[@]}" --model-label default --dense-label $row \
      --data data/bandai --split test --json $R/more-like-vs-$row.json
done
lexmotion eval moments --model "${M[@]}" --against "${N[@]}" --data data/kitml \
    --json $R/moments-mirror-pairs-vs-dense-mirror-pairs.json --quiet
lexmotion eval moments --model "${M[@]}" --against "${D[@]}" --data data/kitml \
    --json $R/moments-mirror-pairs-vs-dense-text-lr.json --quiet

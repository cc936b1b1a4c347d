#!/usr/bin/env bash
# Grid row dense-mirror-pairs: the dense baseline with the mirror pairs of grid row mirror-pairs (settings.mirror_pairs
# 1), trained because mirror-pairs passed its rule (docs/results/more-like.md) and dense reads the setting too.
# The rule, written before any seed trained: default.json takes mirror_pairs 1 for LexCMLP and dense together, so
# that `pretrain dense` trains the baseline on the same pairs as the lexical model. The README's dense column keeps
# dense_text_lr.sh's rule: it quotes whichever dense row (dense-cmu-words, dense-text-lr, dense-mirror-pairs) has
# the highest kitml-cmu t2m R@1 mean as served, the stronger baseline. Its side pairs and "more like this" are
# reported against dense-text-lr whatever they show.
# Trains the seeds (SEEDS, default "0 1 2"; one seed per process to train them side by side), then, once all three
# are trained, writes under docs/results/mirror-pairs/: side pairs and more like this against dense-text-lr,
# `eval compare` against dense-text-lr, and of mirror-pairs against it and against dense-cmu-words
# (docs/results/cmu-words/compare-*-{dense-mirror-pairs-vs-dense,mirror-pairs-vs-dense-mirror-pairs,
# mirror-pairs-vs-dense}.json), and `eval moments` of mirror-pairs against both. Run from the repository root.
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
env -u SEEDS bash docs/scripts/compare_rows.sh dense-cmu-words mirror-pairs mirror-pairs-vs-dense
lexmotion eval moments --model "${M[@]}" --against "${N[@]}" --data data/kitml \
    --json $R/moments-mirror-pairs-vs-dense-mirror-pairs.json --quiet
D5=($(python docs/scripts/grid.py --rows dense-cmu-words --folders))
lexmotion eval moments --model "${M[@]}" --against "${D5[@]}" --data data/kitml \
    --json $R/moments-mirror-pairs-vs-dense.json --quiet

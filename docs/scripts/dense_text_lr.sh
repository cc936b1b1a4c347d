#!/usr/bin/env bash
# Grid row dense-text-lr: the dense baseline with its text encoder at text_lr 1e-4, as grid row text-lr's lexical
# LexCMLP (docs/scripts/text_lr.sh). Added after text-lr's figures, so that the lexical model is not measured
# against a dense model left at a rate tuned for neither.
# The rule, written before any seed finished: default.json's dense takes text_lr 1e-4 unless, over seeds 0-2
# against dense-cmu-words, a test figure of `eval compare` is measurably lower; the README's dense column quotes
# whichever of the two dense rows has the higher kitml-cmu t2m R@1 mean (the stronger baseline).
# Trains the row's seeds (SEEDS, default "0 1 2"; one seed per process trains them side by side), then compares
# it with dense-cmu-words and with text-lr, as served. Run from the repository root.
set -euo pipefail
for seed in ${SEEDS:-0 1 2}; do
  python docs/scripts/grid.py --rows dense-text-lr --seeds $seed
done
N=($(python docs/scripts/grid.py --rows dense-text-lr --folders))
D=($(python docs/scripts/grid.py --rows dense-cmu-words --folders))
T=($(python docs/scripts/grid.py --rows text-lr --folders))
for n in "${N[@]}"; do [ -f $n/DONE ] || { echo "$n not trained yet"; exit 0; }; done
R=docs/results/cmu-words
bash docs/scripts/compare_rows.sh dense-cmu-words dense-text-lr dense-text-lr-vs-dense
bash docs/scripts/compare_rows.sh dense-text-lr text-lr text-lr-vs-dense-text-lr
lexmotion eval moments --model "${T[@]}" --against "${N[@]}" --data data/kitml --json $R/moments-text-lr-vs-dense-text-lr.json --quiet
# ... and the moments against dense-cmu-words, the README's dense column (the higher kitml-cmu t2m R@1 as served)
lexmotion eval moments --model "${T[@]}" --against "${D[@]}" --data data/kitml --json $R/moments-text-lr-vs-dense.json --quiet

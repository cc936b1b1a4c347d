#!/usr/bin/env bash
# Grid row batch-64, a one-seed probe: the default (grid row text-lr) with LexCMLP's batches of 64 for 770 steps,
# against 32 for 1,540: the same clips for about the same compute, each step with twice the in-batch negatives.
# It shares the default's LexMLM, CMMM and LexMMM folders.
# The rule, written before the seed finished: seed 0 alone changes nothing. If `eval compare` of its seed 0 against
# the default's seed 0 (as served, queries resampled, seeds not) puts kitml-cmu t2m R@1 or cmu-extra t2m R@10
# above 0, seeds 1-2 follow, and the row then replaces the default's LexCMLP by text_lr_3e4.sh's rule.
# Run from the repository root.
set -euo pipefail
python docs/scripts/grid.py --rows batch-64 --seeds 0
N=$(python docs/scripts/grid.py --rows batch-64 --seeds 0 --folders)
T=$(python docs/scripts/grid.py --rows text-lr --seeds 0 --folders)
[ -f $N/DONE ] || { echo "$N not trained yet"; exit 0; }
R=docs/results/cmu-words
SEEDS=0 bash docs/scripts/compare_rows.sh text-lr batch-64 batch-64-seed0
lexmotion eval words --model $N --data data/kitml --json $R/kitml-words-batch-64-seed0.json --quiet
# measurements the rule does not read: the default's seed 0 (the folder compared above) as a tagger, and the moments
lexmotion eval words --model $T --data data/kitml --json $R/kitml-words-batch-64-baseline-seed0.json --quiet
lexmotion eval moments --model $N --against $T --data data/kitml --json $R/moments-batch-64-seed0.json --quiet

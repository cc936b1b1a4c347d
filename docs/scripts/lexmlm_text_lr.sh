#!/usr/bin/env bash
# Grid row lexmlm-text-lr, a one-seed probe: the default (grid row text-lr) with LexMLM's text encoder at 1e-4 instead
# of 2e-5. LexCMLP gained measurably from that rate (the sixth switch); LexMLM, which teaches the text encoder its
# lexical head, still runs its 100 steps at the slow one. CMMM, LexMMM and LexCMLP are text-lr's, trained again from
# this LexMLM.
# The rule, written before the seed was trained: seed 0 alone changes nothing. If `eval compare` of its seed 0 against
# the default's seed 0 (as served, queries resampled, seeds not) puts kitml-cmu t2m R@1 or cmu-extra t2m R@10 above
# 0, seeds 1-2 follow, and the row then replaces the default's LexMLM by text_lr_3e4.sh's rule.
# Run from the repository root, after batch_64.sh has trained the default's seed 0 in the same --work folder.
set -euo pipefail
python docs/scripts/grid.py --rows lexmlm-text-lr --seeds 0
N=$(python docs/scripts/grid.py --rows lexmlm-text-lr --seeds 0 --folders)
T=$(python docs/scripts/grid.py --rows text-lr --seeds 0 --folders)
[ -f $N/DONE ] || { echo "$N not trained yet"; exit 0; }
R=docs/results/cmu-words
SEEDS=0 bash docs/scripts/compare_rows.sh text-lr lexmlm-text-lr lexmlm-text-lr-seed0
lexmotion eval words --model $N --data data/kitml --json $R/kitml-words-lexmlm-text-lr-seed0.json --quiet
lexmotion eval moments --model $N --against $T --data data/kitml --json $R/moments-lexmlm-text-lr-seed0.json --quiet

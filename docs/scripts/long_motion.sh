#!/usr/bin/env bash
# Whole-take encoding at test time (the model config's long_motion "windows"): a clip longer than the encoder's
# 8 s window is covered by windows overlapping by half and pooled as patches are, not centre-cropped. The
# default (grid row localise, seeds 0-2) and dense on the same data (grid row dense-descriptions-long, seeds 0-2),
# scored as served with and without it, paired over queries (and seeds), on kitml-cmu test (protocol all) and
# cmu-extra test (protocol threshold). Figures: docs/results/long-motion.md.
# Run from the repository root after `python docs/scripts/grid.py --rows localise,dense-descriptions-long --seeds 0,1,2`.
set -euo pipefail
P=runs/grid/phases
L=($P/lexcmlp-3de739b0a3 $P/lexcmlp-2a5233977d $P/lexcmlp-5ec9ac8a56)     # localise, seeds 0-2
D=($P/dense-1cfcf558ac $P/dense-fa9d1e2950 $P/dense-d3013d37e7)          # dense-descriptions-long, seeds 0-2
R=docs/results/long-motion
mkdir -p $R
python docs/scripts/served_ab.py "${L[@]}" --set long_motion=windows --data data/kitml --json $R/lexical-kitml.json
python docs/scripts/served_ab.py "${L[@]}" --set long_motion=windows --data data/cmu-extra --protocol threshold --json $R/lexical-cmu-extra.json
python docs/scripts/served_ab.py "${D[@]}" --set long_motion=windows --data data/kitml --json $R/dense-kitml.json
python docs/scripts/served_ab.py "${D[@]}" --set long_motion=windows --data data/cmu-extra --protocol threshold --json $R/dense-cmu-extra.json
# The motion words as taggers (eval words), the same three checkpoints read both ways
for M in centre windows; do
  lexmotion eval words --model "${L[@]}" --data data/kitml --long-motion $M --quiet --json $R/words-kitml-$M.json
done
python docs/scripts/words_intervals.py $R/words-kitml-centre.json ap $R/words-kitml-windows.json ap
python docs/scripts/words_intervals.py $R/words-kitml-centre.json ap_query $R/words-kitml-windows.json ap_query

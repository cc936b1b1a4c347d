#!/usr/bin/env bash
# Thresholds for every inflection (docs/results/words.md, "A word's threshold for all its inflections"): the
# default's LexCMLP folders (grid row localise, seeds 0-2) calibrated again as LexCMLP calibrates at its end (on
# data/kitml-desc and data/cmu-extra, seed = the run's), now with each stem group holding every inflection the
# vocabulary has, into new folders; and calibrated on Bandai-2's own labels (`lexmotion tag --calibrate`). Scored
# by `eval words` on kitml-cmu test and Bandai-2 test against the thresholds the default was trained with (the
# A side: runs/grid/phases, and runs/bandai-calibrated from docs/scripts/bandai_calibration.sh).
# Run from the repository root after docs/scripts/bandai_calibration.sh.
set -euo pipefail
P=runs/grid/phases
L=(lexcmlp-3de739b0a3 lexcmlp-2a5233977d lexcmlp-5ec9ac8a56)     # the default's LexCMLP, seeds 0-2
K=(); B=()
for seed in 0 1 2; do
  out=runs/inflections/seed$seed
  [ -f $out/thresholds.json ] || python - $P/${L[$seed]} $seed $out <<'PY'
import sys
from lexmotion.models.checkpoint import load
from lexmotion.models.thresholds import calibrate
from retrieval.tagging import write_calibrated
path, seed, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
write_calibrated(path, calibrate(load(path), ["data/kitml-desc", "data/cmu-extra"], seed=seed), out)
PY
  K+=($out)
  out=runs/bandai-calibrated-inflections/seed$seed
  [ -f $out/thresholds.json ] || lexmotion tag --calibrate --model $P/${L[$seed]} --data data/bandai --out $out --quiet
  B+=($out)
done
W=docs/results/words
lexmotion eval words --model $P/${L[0]} $P/${L[1]} $P/${L[2]} --data data/kitml --json $W/inflections-before-kitml.json --quiet
lexmotion eval words --model "${K[@]}" --data data/kitml --json $W/inflections-kitml.json --quiet
lexmotion eval words --model "${K[@]}" --data data/bandai --json $W/inflections-bandai.json --quiet
lexmotion eval words --model "${B[@]}" --data data/bandai --json $W/inflections-bandai-own.json --quiet

#!/usr/bin/env bash
# Calibrating the words on the library's own labels (docs/results/words.md, "Calibrated on the library's own
# labels"): the default's LexCMLP (grid row localise, seeds 0-2) with its thresholds set on Bandai-2's labelled
# val clips and a slice of train (`lexmotion tag --calibrate`, a new folder each), then `eval words` on Bandai-2
# test, against the same checkpoints with the thresholds they were trained with (calibrated on kitml-cmu and
# cmu-extra). Run from the repository root after `python docs/scripts/grid.py --rows localise --seeds 0,1,2`
# and `lexmotion data build bandai --root ../shared/data/bandai/bandai-namco-motion-2.tar.gz --out data/bandai`.
set -euo pipefail
P=runs/grid/phases
L=(lexcmlp-3de739b0a3 lexcmlp-2a5233977d lexcmlp-5ec9ac8a56)     # the default's LexCMLP, seeds 0-2
B=()
for seed in 0 1 2; do
  out=runs/bandai-calibrated/seed$seed
  [ -f $out/thresholds.json ] || lexmotion tag --calibrate --model $P/${L[$seed]} --data data/bandai --out $out
  B+=($out)
done
W=docs/results/words
lexmotion eval words --model "${B[@]}" --data data/bandai --json $W/bandai-own-calibration.json --quiet
lexmotion eval words --model $P/${L[0]} $P/${L[1]} $P/${L[2]} --data data/bandai --json $W/bandai-kitml-calibration.json --quiet

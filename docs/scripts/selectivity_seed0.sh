#!/usr/bin/env bash
# docs/results/words.md: the selectivity objectives, each a LexCMLP started from today's seed-0 LexMMM (the
# grid's `today` row: python docs/scripts/grid.py --rows today --seeds 0), scored with `lexmotion eval words`
# (calibrated, as served) and `lexmotion eval compare` against today's LexCMLP on kitml-cmu test.
# Run from the repository root after the grid's today row; WORK (default runs/grid) holds its phases.
set -euo pipefail
W=${WORK:-runs/grid}; R=docs/results/words; mkdir -p "$R" "$W/select"
TODAY=$W/phases/lexcmlp-031c44cd2f          # today's seed-0 LexCMLP (grid row today, seed 0)
INIT=$W/phases/lexmmm-e437936ae2            # its LexMMM, where every variant starts
calibrated() {                              # a checkpoint with thresholds.json: itself, else a calibrated copy
  if [ -f "$1/thresholds.json" ]; then echo "$1"; else
    [ -d "$1-calibrated" ] || lexmotion tag --calibrate --model "$1" --data data/kitml --out "$1-calibrated" --quiet >&2
    echo "$1-calibrated"; fi
}
for v in select select-motion select-flops select-absent select-absent-1e-2; do
  [ -f "$W/select/$v/DONE" ] || lexmotion pretrain lexcmlp --config "pretrain/configs/ablations/$v.json" --init "$INIT" \
      --data data/kitml --seed 0 --out "$W/select/$v" --quiet --wandb disabled
done
lexmotion eval words --model "$(calibrated "$TODAY")" --data data/kitml --quiet --json "$R/today.json"
for v in select select-motion select-flops select-absent select-absent-1e-2; do
  lexmotion eval words --model "$(calibrated "$W/select/$v")" --data data/kitml --quiet --json "$R/$v.json"
  lexmotion eval compare --a "$TODAY" --b "$W/select/$v" --data data/kitml --quiet --json "$R/compare-$v.json"
done
python docs/scripts/words_table.py > "$R/table.md"

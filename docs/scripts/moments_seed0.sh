#!/usr/bin/env bash
# docs/results/moments.md: `lexmotion eval moments` on kitml-cmu test (3-part sequences, seed 0) for today's
# seed-0 LexCMLP, with today's seed-0 dense model and two captioners on the frozen LexCMLP encoder (guided,
# local) in the same run. Run from the repository root after the grid's today and dense-today rows
# (python docs/scripts/grid.py --rows today,dense-today --seeds 0); WORK (default runs/grid) holds them.
set -euo pipefail
W=${WORK:-runs/grid}; R=docs/results/moments; mkdir -p "$R"
TODAY=$W/phases/lexcmlp-031c44cd2f; DENSE=$W/phases/dense-fe5e82c056
lexmotion caption train --data data/kitml --epochs 30 --arch guided --encoder "lexical:$TODAY" --lambda-spat 2 \
    --lambda-adapt 3 --seed 0 --out "$W/cap/guided-0" --quiet --wandb disabled
lexmotion caption train --data data/kitml --epochs 30 --arch local --encoder "lexical:$TODAY" --seed 0 \
    --out "$W/cap/local-0" --quiet --wandb disabled
lexmotion eval moments --model "$TODAY" --dense "$DENSE" --captioner "$W/cap/guided-0" "$W/cap/local-0" \
    --data data/kitml --quiet --json "$R/today-seed0.json" | tee "$R/today-seed0.md"

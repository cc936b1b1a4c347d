#!/usr/bin/env bash
# What a moment query ranks (eval moments --proposals): the rule on the selection sequences
# (docs/scripts/moment_segments.py), then, for the record, both on the moment benchmark's kitml-cmu test sequences
# for the default's seeds 0-2 (grid row text-lr) and dense on the same data (grid row dense-text-lr), with paired
# intervals. docs/results/moments.md ("Moments cut where the motion changes"). Run from the repository root once
# both rows' folders are trained (`python docs/scripts/grid.py --rows text-lr dense-text-lr`).
set -euo pipefail
L=($(python docs/scripts/grid.py --rows text-lr --folders))
D=($(python docs/scripts/grid.py --rows dense-text-lr --folders))
R=docs/results/moments
python docs/scripts/moment_segments.py "${L[@]}" --json $R/segments-select.json
for side in windows segments; do
    lexmotion eval moments --model "${L[@]}" --dense "${D[@]}" --data data/kitml --proposals $side \
        --json $R/proposals-$side.json --quiet
done
python docs/scripts/moments_paired.py $R/proposals-windows.json $R/proposals-segments.json
# The second rule (moment_segments.py's docstring), written after the lines above had run: segments read as clips
# of their own against the shipped reading, on the selection sequences; then kitml-cmu test for the record.
python docs/scripts/moment_segments.py "${L[@]}" --b segments:own --json $R/segments-own-select.json
lexmotion eval moments --model "${L[@]}" --dense "${D[@]}" --data data/kitml --proposals segments --window-frame own \
    --json $R/proposals-segments-own.json --quiet
python docs/scripts/moments_paired.py $R/proposals-windows.json $R/proposals-segments-own.json
# Two more draws of the benchmark's sequences from the same clips (--seed 1 and 2), for the record: does the
# gain hold when the clips are joined otherwise?
for draw in 1 2; do
    lexmotion eval moments --model "${L[@]}" --data data/kitml --seed $draw --json $R/draw$draw-windows.json --quiet
    lexmotion eval moments --model "${L[@]}" --data data/kitml --seed $draw --proposals segments --window-frame own \
        --json $R/draw$draw-segments-own.json --quiet
    python docs/scripts/moments_paired.py $R/draw$draw-windows.json $R/draw$draw-segments-own.json
done

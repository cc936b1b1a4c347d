#!/usr/bin/env bash
# The frame a window is read in (ModelConfig.window_frame): the rule on the selection sequences
# (docs/scripts/window_frame.py), then, for the record, both readings on the moment benchmark's kitml-cmu test
# sequences: the default's seeds 0-2 (grid row text-lr), the benchmark's windows (2, 4 and 8 s) and an index's
# 4 s windows. docs/results/window-frame.md. Run from the repository root once row text-lr's folders are trained
# (`python docs/scripts/grid.py --rows text-lr`, or `--train` if they were lost).
set -euo pipefail
L=($(python docs/scripts/grid.py --rows text-lr --folders))
R=docs/results/window-frame
python docs/scripts/window_frame.py "${L[@]}" --json $R/select.json
for frame in clip own; do
    lexmotion eval moments --model "${L[@]}" --data data/kitml --window-frame $frame --json $R/moments-$frame.json --quiet
    lexmotion eval moments --model "${L[@]}" --data data/kitml --window-frame $frame --windows 4 \
        --json $R/moments-4s-$frame.json --quiet
done
python docs/scripts/moments_paired.py $R/moments-clip.json $R/moments-own.json
python docs/scripts/moments_paired.py $R/moments-4s-clip.json $R/moments-4s-own.json

#!/usr/bin/env bash
# What an index of one window length finds (docs/results/moments.md, "One window length, as an index builds
# it"): `eval moments --windows W` searches the benchmark's kitml-cmu test sequences through windows of W
# seconds every W/2, as `index build --window W --stride W/2` holds them; grown moments and single windows.
# The default (grid row localise) and dense on the same data (dense-descriptions-long), seeds 0-2.
set -euo pipefail
P=runs/grid/phases
L=($P/lexcmlp-3de739b0a3 $P/lexcmlp-2a5233977d $P/lexcmlp-5ec9ac8a56)
D=($P/dense-1cfcf558ac $P/dense-fa9d1e2950 $P/dense-d3013d37e7)
R=docs/results/moments
for w in 2 4; do
  lexmotion eval moments --model "${L[@]}" --dense "${D[@]}" --data data/kitml --windows $w \
      --json $R/index-windows-$w.json --quiet
  lexmotion eval moments --model "${L[@]}" --dense "${D[@]}" --data data/kitml --windows $w --moment-tolerance 0 \
      --json $R/index-windows-$w-single.json --quiet
done

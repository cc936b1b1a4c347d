#!/usr/bin/env bash
# Reading the motion head's logits where its weights are 0 (issues 34 and 35), on the default (grid row
# localise), the motion-side absent-word hinge (grid row absent-motion) and dense on the default's data
# (grid row dense-descriptions-long), seeds 0-2 each: word localisation and moments on kitml-cmu test,
# word AP on kitml-cmu test and Bandai-2 test, and retrieval with the hub prior on kitml-cmu and
# cmu-extra test. Figures: docs/results/moments.md and words.md ("The logits where the weights are 0").
# Run from the repository root after `python docs/scripts/grid.py --rows localise,absent-motion,dense-descriptions-long
# --seeds 0,1,2` and `lexmotion data build bandai ... --out data/bandai` (docs/results/words.md).
set -euo pipefail
P=runs/grid/phases
L=($P/lexcmlp-3de739b0a3 $P/lexcmlp-2a5233977d $P/lexcmlp-5ec9ac8a56)     # localise, seeds 0-2
A=($P/lexcmlp-2e7e475115 $P/lexcmlp-475b33cd0c $P/lexcmlp-22c928fd44)     # absent-motion, seeds 0-2
D=($P/dense-1cfcf558ac $P/dense-fa9d1e2950 $P/dense-d3013d37e7)           # dense-descriptions-long, seeds 0-2
M=docs/results/moments
W=docs/results/words
Q=docs/results/querybank

# word localisation by the logits' peak, and moments, against dense and between the two lexical rows
lexmotion eval moments --model "${L[@]}" --against "${D[@]}" --data data/kitml --json $M/logits-vs-dense.json --quiet
lexmotion eval moments --model "${A[@]}" --against "${L[@]}" --data data/kitml --json $M/logits-absent-motion.json --quiet

# word AP by the weights and by the logits
for row in localise absent-motion; do
  [ $row = localise ] && ckpts=("${L[@]}") || ckpts=("${A[@]}")
  lexmotion eval words --model "${ckpts[@]}" --data data/kitml --json $W/logits-$row.json --quiet
  lexmotion eval words --model "${ckpts[@]}" --data data/bandai --json $W/logits-bandai-$row.json --quiet
done

# retrieval as served (with the hub prior): absent-motion's banked copies against the default's (runs/qb,
# made for docs/results/querybank.md by the same command)
for ckpt in "${L[@]}" "${A[@]}"; do
  out=runs/qb/$(basename "$ckpt")
  [ -d "$out" ] || lexmotion index querybank --model "$ckpt" --data data/kitml-desc data/cmu-extra --out "$out"
done
qb() { for c in "$@"; do echo runs/qb/$(basename "$c"); done; }
lexmotion eval compare --a $(qb "${L[@]}") --b $(qb "${A[@]}") --data data/kitml --json $Q/absent-motion-kitml.json
lexmotion eval compare --a $(qb "${L[@]}") --b $(qb "${A[@]}") --data data/cmu-extra --protocol threshold \
    --json $Q/absent-motion-cmu-extra.json

#!/usr/bin/env bash
# A short sparsifying stage (issue 34): 300 more LexCMLP steps from the default's trained LexCMLP (grid row
# localise, seeds 0-2), with the absent-word hinge on motion vectors (pretrain/configs/ablations/sparsify.json).
# Scored against the default as served, hub prior included (the new phase writes its own bank). Figures: docs/results/words.md ("A short sparsifying stage").
# With an argument (`bash docs/scripts/sparsify.sh 2e-3`), the same with pretrain/configs/ablations/sparsify-2e-3.json.
# A seed whose stage has finished (its DONE file) is not trained again.
# Run from the repository root after `python docs/scripts/grid.py --rows localise --seeds 0,1,2`.
set -euo pipefail
V=${1:+-$1}                     # "" or "-2e-3": the config's and the outputs' suffix
P=runs/grid/phases
L=(lexcmlp-3de739b0a3 lexcmlp-2a5233977d lexcmlp-5ec9ac8a56)     # the default's LexCMLP, seeds 0-2
S=()
for seed in 0 1 2; do
  out=runs/sparsify$V/seed$seed
  [ -f $out/DONE ] || lexmotion pretrain lexcmlp --config pretrain/configs/ablations/sparsify$V.json --seed $seed \
      --out $out --text-corpus ../shared/data/kitml-text --quiet --wandb disabled --init $P/${L[$seed]}
  S+=($out)
done
A=()         # the default as served: its own bank (LexCMLP writes one), else the banked copy logits_readout.sh made
for l in "${L[@]}"; do [ -f $P/$l/querybank.json ] && A+=($P/$l) || A+=(runs/qb/$l); done
W=docs/results/words
lexmotion eval compare --a "${A[@]}" --b "${S[@]}" --data data/kitml --json $W/sparsify$V-compare-kitml.json
lexmotion eval compare --a "${A[@]}" --b "${S[@]}" --data data/cmu-extra --protocol threshold \
    --json $W/sparsify$V-compare-cmu-extra.json
lexmotion eval words --model "${S[@]}" --data data/kitml --json $W/logits-sparsify$V.json --quiet
lexmotion eval words --model "${S[@]}" --data data/bandai --json $W/logits-bandai-sparsify$V.json --quiet
lexmotion eval moments --model "${S[@]}" --against $P/${L[0]} $P/${L[1]} $P/${L[2]} --data data/kitml \
    --json docs/results/moments/logits-sparsify$V.json --quiet
for ckpt in "${S[@]}"; do lexmotion eval retrieval --model $ckpt --data data/kitml | grep -i "grounding"; done

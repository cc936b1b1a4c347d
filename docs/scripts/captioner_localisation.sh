#!/usr/bin/env bash
# The papers' localisation claims on the default (docs/results/moments.md, "The captioners' localisation, 3
# seeds"): the guided captioner (temporal Gaussian centre) and the local-attention captioner (position p_t),
# each trained 30 epochs on the frozen LexCMLP of the default, seeds 0-2 (grid row localise), placed on eval
# moments' 14 sequences of kitml-cmu test. A finished captioner is not trained again (caption train resumes).
# Run from the repository root after `python docs/scripts/grid.py --rows localise --seeds 0,1,2`.
set -euo pipefail
P=runs/grid/phases
L=(lexcmlp-3de739b0a3 lexcmlp-2a5233977d lexcmlp-5ec9ac8a56)     # the default's LexCMLP, seeds 0-2
C=()
for seed in 0 1 2; do
  lexmotion caption train --data data/kitml --epochs 30 --arch guided --encoder lexical:$P/${L[$seed]} \
      --lambda-spat 2 --lambda-adapt 3 --seed $seed --out runs/captioners/guided-$seed --quiet --wandb disabled
  lexmotion caption train --data data/kitml --epochs 30 --arch local --encoder lexical:$P/${L[$seed]} \
      --seed $seed --out runs/captioners/local-$seed --quiet --wandb disabled
  C+=(runs/captioners/guided-$seed runs/captioners/local-$seed)
done
J=docs/results/moments/captioners-default.json
lexmotion eval moments --model $P/${L[0]} $P/${L[1]} $P/${L[2]} --captioner "${C[@]}" --data data/kitml --json $J --quiet
python docs/scripts/captioner_localisation.py $J

#!/usr/bin/env bash
# Choosing the text-side FLOPS weight of the short sparsifying stage on the val splits (seed 0 only):
# 300 more LexCMLP steps from the default's seed-0 LexCMLP at flops_text 2e-2 and 1e-1
# (pretrain/configs/ablations/sparsify-text-*.json), each scored with the default on kitml-cmu val (protocol
# all) and cmu-extra val (protocol threshold). The chosen weight then runs on all seeds: `bash
# docs/scripts/sparsify.sh text-1e-1`. Then the same val check for both stages at once (sparsify-both.json, whose
# comment holds its rule). Figures: docs/results/words.md ("A text-side sparsifying stage").
# Run from the repository root after `python docs/scripts/grid.py --rows localise --seeds 0`.
set -euo pipefail
D=runs/grid/phases/lexcmlp-3de739b0a3          # the default's LexCMLP, seed 0
R=docs/results/words/text-select
mkdir -p $R
for w in 2e-2 1e-1; do
  [ -f runs/sparsify-text-$w/seed0/DONE ] || lexmotion pretrain lexcmlp --config pretrain/configs/ablations/sparsify-text-$w.json \
      --seed 0 --out runs/sparsify-text-$w/seed0 --text-corpus ../shared/data/kitml-text --quiet --wandb disabled --init $D
done
for pair in default:$D text-2e-2:runs/sparsify-text-2e-2/seed0 text-1e-1:runs/sparsify-text-1e-1/seed0; do
  name=${pair%%:*} ckpt=${pair#*:}
  lexmotion eval retrieval --model $ckpt --data data/kitml --split val --json $R/$name-seed0-kitml-val.json
  lexmotion eval retrieval --model $ckpt --data data/cmu-extra --split val --protocol threshold \
      --json $R/$name-seed0-cmu-extra-val.json
done
# Both stages at once (pretrain/configs/ablations/sparsify-both.json), seed 0, on the same val splits
[ -f runs/sparsify-both/seed0/DONE ] || lexmotion pretrain lexcmlp --config pretrain/configs/ablations/sparsify-both.json \
    --seed 0 --out runs/sparsify-both/seed0 --text-corpus ../shared/data/kitml-text --quiet --wandb disabled --init $D
lexmotion eval retrieval --model runs/sparsify-both/seed0 --data data/kitml --split val --json $R/both-seed0-kitml-val.json
lexmotion eval retrieval --model runs/sparsify-both/seed0 --data data/cmu-extra --split val --protocol threshold \
    --json $R/both-seed0-cmu-extra-val.json

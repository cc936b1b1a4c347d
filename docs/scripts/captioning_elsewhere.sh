#!/usr/bin/env bash
# Captioning motions from another library (docs/results/captioning.md, "Motions from elsewhere"): the default's
# guided captioner (frozen LexCMLP encoder, lambda_spat 2, lambda_adapt 3, 30 epochs; seeds 0-2 on the default's three
# LexCMLP folders, grid row localise), trained on kitml-cmu, captions Bandai-2 test (never seen by any phase).
# `caption describe` reranks a file's captions with its captioner's training captions as neighbours; --rerank-data
# data/kitml does the same in `caption eval`. Against: no reranking. Then in-domain, kitml-cmu test, both ways.
# A finished captioner folder is not trained again (caption train resumes it and finds nothing to do).
# Run from the repository root after `python docs/scripts/grid.py --rows localise --seeds 0,1,2`.
set -euo pipefail
P=runs/grid/phases
L=(lexcmlp-3de739b0a3 lexcmlp-2a5233977d lexcmlp-5ec9ac8a56)     # the default's LexCMLP, seeds 0-2
C=()
for seed in 0 1 2; do
  out=runs/captioners/guided-$seed
  lexmotion caption train --data data/kitml --epochs 30 --arch guided --encoder lexical:$P/${L[$seed]} \
      --lambda-spat 2 --lambda-adapt 3 --seed $seed --out $out --quiet --wandb disabled
  C+=($out)
done
R=docs/results/captioning
mkdir -p $R
E="lexmotion caption eval --model ${C[*]}"
$E --data data/bandai --rerank-data data/kitml --json $R/elsewhere-bandai-rerank.json
$E --data data/bandai --rerank 0 --json $R/elsewhere-bandai-plain.json
# the same library's motions on the same skeleton, other subjects: cmu-extra test (CMU's descriptions as references)
$E --data data/cmu-extra --rerank-data data/kitml --json $R/elsewhere-cmu-extra-rerank.json
$E --data data/cmu-extra --rerank 0 --json $R/elsewhere-cmu-extra-plain.json
$E --data data/kitml --json $R/elsewhere-kitml-rerank.json
$E --data data/kitml --rerank 0 --json $R/elsewhere-kitml-plain.json
python docs/scripts/label_words.py $R/elsewhere-bandai-plain.json $R/elsewhere-bandai-rerank.json
python docs/scripts/label_words.py $R/elsewhere-cmu-extra-plain.json $R/elsewhere-cmu-extra-rerank.json
# a library with its own captions: copy the nearest of its own training captions (Bandai-2 train), found by the
# default's LexCMLP (seeds 0-2), which never trained on Bandai's rig
lexmotion caption eval --baseline nearest --model $P/${L[0]} $P/${L[1]} $P/${L[2]} --data data/bandai \
    --json $R/elsewhere-bandai-nearest.json
python docs/scripts/label_words.py $R/elsewhere-bandai-plain.json $R/elsewhere-bandai-nearest.json

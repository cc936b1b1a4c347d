#!/usr/bin/env bash
# Issue 34's sparse stage on the sixth default: 300 more LexCMLP steps with the absent-word hinge on motion vectors at
# 5e-3 (pretrain/configs/ablations/sparsify-text-lr.json), started from grid row text-lr's LexCMLP. It is the stage
# that met issue 34's motion sparsity on the fourth default (docs/results/words.md, "A third weight, 5e-3"), on the
# sixth default's data; nothing tuned.
# The rule, written before any of its figures:
#   - seed 0 first. Seeds 1-2 follow only if, at seed 0 on kitml-cmu test, the median motion vector (no pruning)
#     holds <= 64 words, a caption word is held by <= 25% of clips (no pruning), and t2m R@10 as served stays >= 80;
#   - after seeds 0-2 the stage joins the default only if kitml-cmu t2m R@1 >= 28 and R@10 >= 80 (means, as served:
#     issue 33), and no retrieval figure on either test set, word AP, Bandai-2 label AP, word localisation or moment
#     R@1 at IoU 0.5 falls measurably against the default (the interval below 0).
# STAGE=sparsify-distil runs pretrain/configs/ablations/sparsify-distil.json instead: the same stage with the KL
# from the starting checkpoint's in-batch scores to the stage's at weight 1.0 (`distil`), so that the hinge sparsifies
# while the ranking it began from is kept. Same rule, same gate, written before any of its figures; its weight 1.0 is
# the only one tried.
# STAGE=sparsify-both-distil (pretrain/configs/ablations/sparsify-both-distil.json) adds the same hinge on text vectors
# at the same 5e-3. Same rule, written before any of its figures, with one more gate condition at seed 0: the median
# text vector (no pruning) holds <= 32 words (issue 34).
# SEEDS (default "0 1 2") picks the seeds, trained one after the other; the default's same seeds are the A side.
# Figures: docs/results/words.md ("The sparse stage on the sixth default"). Run from the repository root after
# `python docs/scripts/grid.py --rows text-lr --seeds ...` (with --train if its JSON exists but its folders are lost)
# has trained the default's LexCMLP of those seeds.
set -euo pipefail
SEEDS=${SEEDS:-0 1 2}
STAGE=${STAGE:-sparsify-text-lr}
A=() S=()
for seed in $SEEDS; do
  a=$(python docs/scripts/grid.py --rows text-lr --seeds $seed --folders)
  out=runs/$STAGE/seed$seed
  [ -f $out/DONE ] || lexmotion pretrain lexcmlp --config pretrain/configs/ablations/$STAGE.json --seed $seed \
      --out $out --text-corpus ../shared/data/kitml-text --quiet --wandb disabled --init $a
  A+=($a) S+=($out)
done
W=docs/results/words/$STAGE
T=seeds$(echo $SEEDS | tr -d ' ')         # the seeds in every file name: seeds0, seeds012
mkdir -p $W
lexmotion eval compare --a "${A[@]}" --b "${S[@]}" --data data/kitml --json $W/compare-kitml-$T.json --quiet
lexmotion eval compare --a "${A[@]}" --b "${S[@]}" --data data/cmu-extra --protocol threshold \
    --json $W/compare-cmu-extra-$T.json --quiet
# a reading outside the rule: the plain cosine, without each clip's hub prior (is the prior what costs cmu-extra?)
lexmotion eval compare --a "${A[@]}" --b "${S[@]}" --data data/cmu-extra --protocol threshold --no-querybank \
    --json $W/compare-cmu-extra-plain-$T.json --quiet
words() {      # words NAME CHECKPOINT...: both sides' words on kitml-cmu test and Bandai-2 test
  lexmotion eval words --model "${@:2}" --data data/kitml --json $W/words-kitml-$1-$T.json --quiet
  lexmotion eval words --model "${@:2}" --data data/bandai --json $W/words-bandai-$1-$T.json --quiet
}
words default "${A[@]}"
words sparse "${S[@]}"
lexmotion eval moments --model "${S[@]}" --against "${A[@]}" --data data/kitml --json $W/moments-$T.json --quiet
for key in ap ap_logits ap_query; do
  echo "word AP ($key), kitml-cmu test: $(python docs/scripts/words_intervals.py $W/words-kitml-default-$T.json $key \
      $W/words-kitml-sparse-$T.json $key)"
  echo "Bandai-2 label AP ($key): $(python docs/scripts/words_intervals.py $W/words-bandai-default-$T.json $key \
      $W/words-bandai-sparse-$T.json $key)"
done
for ckpt in "${S[@]}"; do lexmotion eval retrieval --model $ckpt --data data/kitml | grep -i "grounding"; done

#!/usr/bin/env bash
# Grid row cmu-words (issue 33): the default recipe with CMU's run-together descriptions ("JogThrough") split into
# their words and the tag CleanedGRS dropped (docs/scripts/cmu_words.py). Builds the rewritten sources and the two
# data folders once, then trains the row's seeds (SEEDS, default "0 1 2"; LexMLM and CMMM are the default's, shared
# through the grid's phase keys) and writes their grid JSON. Compare with: python docs/scripts/grid.py --report.
# The rule, fixed before any seed finished: the builder splits run-together CMU descriptions by default (and the
# default recipe trains on them) if, over seeds 0-2 against grid row localise, none of t2m R@1 and R@10 on kitml-cmu
# test and on cmu-extra test is measurably lower (a paired interval wholly below 0); otherwise the row stays a
# measurement. The captions are the same words either way, so the question is only whether the fix costs anything.
# Run from the repository root after `python docs/scripts/grid.py --rows localise --seeds 0,1,2`.
set -euo pipefail
[ -d data/src/cmu-extra-words ] || python docs/scripts/cmu_words.py --out data/src/cmu-extra-words
[ -f data/cmu-extra-words/lexmotion.json ] || lexmotion data build kitml-cmu \
    --root data/src/cmu-extra-words/cmu-extra --out data/cmu-extra-words --quiet
[ -f data/kitml-desc-words/lexmotion.json ] || lexmotion data build kitml-cmu --root ../shared/data/kitml-cmu \
    --extra-captions data/src/cmu-extra-words/cmu-extra/descriptions.tsv --out data/kitml-desc-words --quiet
for seed in ${SEEDS:-0 1 2}; do
  python docs/scripts/grid.py --rows cmu-words --seeds $seed
done

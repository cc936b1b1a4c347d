#!/usr/bin/env bash
# The default (grid row text-lr) against dense on the same data at the same text rate (grid row dense-text-lr), on
# seeds 0-4: two seeds more than the headline's three, so that seeds weigh less in the intervals
# (docs/results/default-recipe.md, "Five seeds"). Nothing is chosen by it: no recipe or reading changes, whatever
# the figures. Seeds 0-2 are the folders on disk (trained again since the headline's runs); seeds 3-4 are new:
#     python docs/scripts/grid.py --rows text-lr --seeds 3,4 && python docs/scripts/grid.py --rows dense-text-lr --seeds 3,4
# Run from the repository root once all ten folders are trained.
set -euo pipefail
L=($(python docs/scripts/grid.py --rows text-lr --seeds 0,1,2,3,4 --folders))
D=($(python docs/scripts/grid.py --rows dense-text-lr --seeds 0,1,2,3,4 --folders))
R=docs/results/default/five-seeds
mkdir -p $R
lexmotion eval compare --a "${D[@]}" --b "${L[@]}" --data data/kitml --json $R/compare-kitml.json --quiet
lexmotion eval compare --a "${D[@]}" --b "${L[@]}" --data data/cmu-extra --protocol threshold \
    --json $R/compare-cmu-extra.json --quiet
# moments and word localisation, the default (B) against dense (A), paired over the same sequences, words and seeds
lexmotion eval moments --model "${L[@]}" --against "${D[@]}" --data data/kitml --json $R/moments.json --quiet
lexmotion eval words --model "${L[@]}" --data data/kitml --json $R/words-kitml.json --quiet
lexmotion eval words --model "${D[@]}" --data data/kitml --json $R/words-kitml-dense.json --quiet
# Added after the lines above had run: query AP (a word typed as a query, the one word figure dense has), paired
# over words and seeds; and cmu-extra for seeds 0-2 alone, to show what seeds 3-4 moved.
python docs/scripts/words_intervals.py $R/words-kitml-dense.json ap_query $R/words-kitml.json ap_query
L3=($(python docs/scripts/grid.py --rows text-lr --seeds 0,1,2 --folders))
D3=($(python docs/scripts/grid.py --rows dense-text-lr --seeds 0,1,2 --folders))
lexmotion eval compare --a "${D3[@]}" --b "${L3[@]}" --data data/cmu-extra --protocol threshold \
    --json $R/compare-cmu-extra-seeds012.json --quiet

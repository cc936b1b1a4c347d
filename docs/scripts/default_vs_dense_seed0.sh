#!/usr/bin/env bash
# docs/results/default-vs-dense-seed0.md: one seed of today's default recipe and of dense, compared with
# `lexmotion eval compare` on kitml-cmu test and on cmu-extra (held out from training), its motion words
# scored with `lexmotion eval words`, and word timelines on two multi-action cmu-extra takes.
# Run from the repository root; WORK (default runs/seed0) holds the data and runs. Results go to docs/results/seed0/.
set -euo pipefail
W=${WORK:-runs/seed0}; R=docs/results/seed0; S=../shared/data; mkdir -p "$W" "$R"
[ -d "$W/kitml" ] || lexmotion data build kitml-cmu --root "$S/kitml-cmu" --out "$W/kitml" --quiet
[ -d "$W/cmu-extra" ] || lexmotion data build kitml-cmu --root "$S/cmu-extra.tar.xz" --out "$W/cmu-extra" --quiet
[ -f "$W/d0/lexcmlp/DONE" ] || lexmotion pretrain all --config pretrain/configs/cpu-small.json --data "$W/kitml" \
    --text-corpus "$S/kitml-text" --seed 0 --out "$W/d0" --quiet
[ -f "$W/dense0/DONE" ] || lexmotion pretrain dense --config pretrain/configs/cpu-small.json --data "$W/kitml" \
    --seed 0 --out "$W/dense0" --quiet
lexmotion eval compare --a "$W/dense0" --b "$W/d0/lexcmlp" --data "$W/kitml" --quiet --json "$R/compare-kitml.json"
lexmotion eval compare --a "$W/dense0" --b "$W/d0/lexcmlp" --data "$W/cmu-extra" --protocol threshold --quiet \
    --json "$R/compare-cmu-extra.json"
lexmotion eval words --model "$W/d0/lexcmlp" --data "$W/kitml" --quiet --json "$R/words-kitml.json"
[ -d "$W/d0/tagger" ] || lexmotion tag --calibrate --model "$W/d0/lexcmlp" --data "$W/kitml" --out "$W/d0/tagger" --quiet
lexmotion tag --model "$W/d0/tagger" --data "$W/cmu-extra" --split test -k 5 --quiet --json "$R/tags-cmu-extra-test.json" > /dev/null
for take in 13_30 56_05; do         # cmu-extra train takes: never seen by a kitml-cmu model
  python - "$W/cmu-extra" "$take" "$W/$take.npy" <<'PY'
import sys
import numpy as np
from lexmotion.data.dataset import MotionDataset
ds = MotionDataset(sys.argv[1])
np.save(sys.argv[3], ds.row(ds.find(sys.argv[2]))["joints"])
PY
done
lexmotion explain --model "$W/d0/lexcmlp" --motion "$W/13_30.npy" --fps 24 --words jumping,twist,squat,run \
    --plot "$R/timelines-13_30.png" --json > "$R/timelines-13_30.json"
lexmotion explain --model "$W/d0/lexcmlp" --motion "$W/56_05.npy" --fps 24 --words walk,drink,run,jump,punch,stretch \
    --plot "$R/timelines-56_05.png" --json > "$R/timelines-56_05.json"

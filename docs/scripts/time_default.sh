#!/usr/bin/env bash
# The default recipe timed as a user runs it (the README's step 2, then the dense baseline), on an otherwise
# idle machine, and each phase's weights compared with the grid's seed-0 folder of the same config and data (under
# other folder names). At the fifth switch they did not match: see docs/results/default-recipe.md, "The fifth
# switch", for why. Run from the repository root after the README's three `data build` commands and
# `python docs/scripts/grid.py --rows $ROW,$DENSE_ROW --seeds 0 --train`. ROW and DENSE_ROW name the grid rows
# that hold the default's recipe (today mirror-pairs and dense-mirror-pairs); OUT defaults to runs/timing.
set -euo pipefail
OUT=${OUT:-runs/timing}
ROW=${ROW:-mirror-pairs}
DENSE_ROW=${DENSE_ROW:-dense-mirror-pairs}
timed() { local start=$(date +%s); "$@"; echo "wall seconds: $(( $(date +%s) - start )) for: $*"; }
folder() { python -c "import sys; sys.path.insert(0, 'docs/scripts'); import grid; from pathlib import Path
print(grid.plan('$1', 0, Path('runs/grid'))[$2]['folder'])"; }
same() {   # the two folders' weights, tensor by tensor
  python - "$1" "$2" <<'PY'
import sys
from safetensors.torch import load_file
a, b = (load_file(f"{p}/model.safetensors") for p in sys.argv[1:])
differ = [k for k in a if k not in b or a[k].shape != b[k].shape or not (a[k] == b[k]).all()]
print(f"{sys.argv[1]} vs {sys.argv[2]}: {len(a)} tensors, {len(differ)} differ{' (' + differ[0] + ', ...)' if differ else ''}")
PY
}
timed lexmotion pretrain all --text-corpus ../shared/data/kitml-text --seed 0 --out $OUT/all --quiet --wandb disabled
phases=(lexmlm cmmm lexmmm lexcmlp)
for i in 0 1 2 3; do
  same $OUT/all/${phases[$i]} "$(folder $ROW $i)"
done
timed lexmotion pretrain dense --text-corpus ../shared/data/kitml-text --seed 0 --out $OUT/dense --quiet --wandb disabled
same $OUT/dense "$(folder $DENSE_ROW 0)"
# each phase's own training seconds, as the trainer records them
for p in $OUT/all/lexmlm $OUT/all/cmmm $OUT/all/lexmmm $OUT/all/lexcmlp $OUT/dense; do
  echo "$p: $(tail -n 1 $p/metrics.jsonl | python -c 'import json, sys; print(json.loads(sys.stdin.read())["seconds"])') s"
done

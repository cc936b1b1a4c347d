#!/usr/bin/env bash
# Regularise LexCMLP (issue 33): the default's LexCMLP trained again from the default's LexMMM (grid row localise,
# seeds 0-2) with motion dropout 0.2 and stochastic depth 0.2 (pretrain/configs/ablations/regularise.json, whose
# comment holds the rule fixed before any run). Scored against the default as served (hub prior included; both
# LexCMLPs write their bank). Figures: docs/results/regularise.md.
# SEEDS="0 1" trains and scores only those seeds' runs (to train seeds side by side); a finished run (DONE) is not
# trained again, and the scoring runs once every seed's run is done.
# Run from the repository root after `python docs/scripts/grid.py --rows localise --seeds 0,1,2`.
set -euo pipefail
P=runs/grid/phases
M=(lexmmm-951a47bdd9 lexmmm-ec66756185 lexmmm-e017e8f38d)      # the default's LexMMM, seeds 0-2
L=(lexcmlp-3de739b0a3 lexcmlp-2a5233977d lexcmlp-5ec9ac8a56)   # the default's LexCMLP, seeds 0-2
for seed in ${SEEDS:-0 1 2}; do
  out=runs/regularise/seed$seed
  [ -f $out/DONE ] || lexmotion pretrain lexcmlp --config pretrain/configs/ablations/regularise.json --seed $seed \
      --out $out --text-corpus ../shared/data/kitml-text --quiet --wandb disabled --init $P/${M[$seed]}
done
for seed in 0 1 2; do [ -f runs/regularise/seed$seed/DONE ] || { echo "seed $seed not trained yet"; exit 0; }; done
A=($P/${L[0]} $P/${L[1]} $P/${L[2]})
B=(runs/regularise/seed0 runs/regularise/seed1 runs/regularise/seed2)
R=docs/results/regularise
mkdir -p $R
lexmotion eval compare --a "${A[@]}" --b "${B[@]}" --data data/kitml --json $R/compare-kitml.json --quiet
lexmotion eval compare --a "${A[@]}" --b "${B[@]}" --data data/cmu-extra --protocol threshold \
    --json $R/compare-cmu-extra.json --quiet
# issue 33's "above dense on cmu-extra": dense on the same data (grid row dense-descriptions-long), seeds 0-2
D=($P/dense-1cfcf558ac $P/dense-fa9d1e2950 $P/dense-d3013d37e7)
lexmotion eval compare --a "${D[@]}" --b "${B[@]}" --data data/cmu-extra --protocol threshold \
    --json $R/compare-cmu-extra-dense.json --quiet
# what the words tag and where they are, against the default (moments: eval moments' own paired intervals;
# word AP against docs/results/words/logits-localise-retrained.json, the default's, by docs/scripts/words_intervals.py)
lexmotion eval words --model "${B[@]}" --data data/kitml --json $R/words-kitml.json --quiet
lexmotion eval moments --model "${B[@]}" --against "${A[@]}" --data data/kitml --json $R/moments.json --quiet
python docs/scripts/words_intervals.py docs/results/words/logits-localise-retrained.json ap $R/words-kitml.json ap
# how well each run fits its training pairs against its val pairs: the last logged train and val contrastive loss
python - "${A[@]}" "${B[@]}" > $R/fit.json <<'PY'
import json, sys
out = {}
for folder in sys.argv[1:]:
    rows = [json.loads(line) for line in open(f"{folder}/metrics.jsonl") if line.strip()]
    train = [r["train_contrastive"] for r in rows if "train_contrastive" in r]
    val = [r for r in rows if "val_contrastive" in r]
    out[folder] = {"train_contrastive": round(train[-1], 4), "val_contrastive": round(val[-1]["val_contrastive"], 4),
                   "val_t2m_R@1": val[-1]["val_t2m_R@1"], "seconds": rows[-1].get("seconds")}
print(json.dumps(out, indent=1))
PY
cat $R/fit.json

"""The hub prior in the other direction: does motion-to-text gain if each caption is scored by its cosine less
its own prior, the soft maximum of its cosine to a bank of training motions (the train splits of
data/kitml-desc and data/cmu-extra, the default's LexCMLP data)? Sweeps beta on the val and test splits of
kitml-cmu (protocol all) and cmu-extra (protocol threshold), m2t R@1 / R@10 per checkpoint.

Rule, the one that chose the clip prior's beta (docs/results/querybank.md): the beta with the best mean val
m2t R@1 over both val sets; beta 0 (no prior) is a candidate, and if it wins nothing ships.

    python docs/scripts/querybank_captions.py CKPT [CKPT ...] --json docs/results/querybank/caption-prior.json
"""
import argparse
import json

import numpy as np
import scipy.sparse as sp
import torch

from lexmotion.data.batching import MotionTextDataset
from lexmotion.data.dataset import MotionDataset
from lexmotion.models.checkpoint import load
from lexmotion.models.querybank import motion_rows, priors_from_cosines
from retrieval.evaluate import (
    _direction,
    deduplicate,
    encode_split,
    ranks,
    sentence_embeddings,
    summarise,
    threshold_positives,
)

BETAS = [0, 10, 15, 20, 25, 30, 40, 60]
BANK = ("data/kitml-desc", "data/cmu-extra")
SETS = (("data/kitml", "all"), ("data/cmu-extra", "threshold"))


def split_vectors(model, path: str, split: str, dedup: bool = True):
    """Raw text (first caption) and motion vectors of a split, deduplicated as eval retrieval does."""
    ds = MotionDataset(path)
    items = MotionTextDataset(ds, split, model.stats, model.served_frames)
    if dedup:
        keep = set(deduplicate(ds, ds.split_indices(split))[0])
        items.rows = [r for r in items.rows if r["index"] in keep]
    text, motion, _ = encode_split(model, items, network=True)
    return text, motion, [r["texts"][0] for r in items.rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ckpts", nargs="+")
    parser.add_argument("--json", required=True)
    args = parser.parse_args()
    out = {"betas": BETAS, "bank": list(BANK), "checkpoints": args.ckpts, "m2t": {}}
    for ckpt in args.ckpts:
        model = load(ckpt)
        bank = sp.vstack([motion_rows(split_vectors(model, p, "train", dedup=False)[1]) for p in BANK]).tocsr()
        for data, protocol in SETS:
            for split in ("val", "test"):
                text, motion, captions = split_vectors(model, data, split)
                texts, motions = motion_rows(text), motion_rows(motion)
                cos = (texts @ motions.T).toarray()
                positives = np.eye(len(captions), dtype=bool)
                if protocol == "threshold":
                    emb = sentence_embeddings(captions, None)
                    positives = threshold_positives(emb @ emb.T, positives)
                to_bank = (bank @ texts.T).toarray().astype(np.float64)       # (bank motions, captions)
                for beta in BETAS:
                    scores = cos if beta == 0 else cos - priors_from_cosines(to_bank, beta)[:, None].astype(np.float32)
                    r = summarise(ranks(*_direction(scores, positives, list(range(len(captions))), "m2t"), "tmr"))
                    out["m2t"].setdefault(f"{data}:{split}", {}).setdefault(str(beta), []).append(
                        {"R@1": r["R@1"], "R@5": r["R@5"], "R@10": r["R@10"]})
    means = {s: {b: {k: round(float(np.mean([r[k] for r in rs])), 2) for k in ("R@1", "R@10")} for b, rs in v.items()}
             for s, v in out["m2t"].items()}
    val_r1 = {str(b): np.mean([means[f"{d}:val"][str(b)]["R@1"] for d, _ in SETS]) for b in BETAS}
    out["means"], out["chosen_beta"] = means, max(val_r1, key=lambda b: (val_r1[b], -float(b)))
    with open(args.json, "w") as f:
        json.dump(out, f, indent=1)
    for s, v in means.items():
        print(f"{s:<24}" + "  ".join(f"b{b} {m['R@1']:.2f}/{m['R@10']:.2f}" for b, m in v.items()))
    print("mean val m2t R@1 per beta:", {b: round(float(x), 2) for b, x in val_r1.items()}, "-> beta", out["chosen_beta"])


if __name__ == "__main__":
    torch.set_num_threads(2)
    main()

"""Where a lexical model keeps the side: the weights of *left* and *right* in the served vectors.

    python docs/scripts/side_words.py --model CKPT [CKPT ...] --data data/bandai --split test \
        --json docs/results/mirror-pairs/side-words.json

Motion side: every take of the split whose label names a side (Bandai's walk-turn-left, raise-up-right-hand, ...)
is encoded as an index of the split encodes it (``build_index``: centred crop, pruned, floor), and its weights
on *left* and *right* are read with ``model.explain``; per label, their means and in how many takes *left* is
above *right*. Text side: the same weights in the text vector of each side-naming label read as a caption.
--logits also gives, per label, the mean pooled logit of *left* and *right* on the takes' centred crops (the input
of log(1 + ReLU): a word below 0 has weight 0 however the two rank).
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import torch

SIDES = ("left", "right")


def weights(model, vector: torch.Tensor) -> tuple[float, float]:
    """VECTOR's weights on *left* and *right* (0 where it does not hold the word), read at their ids."""
    return tuple(float(vector[model.tokenizer.convert_tokens_to_ids(word)]) for word in SIDES)


@torch.no_grad()
def pooled_logits(model, clips: list[dict]) -> list[tuple[float, float]]:
    """The pooled motion logits of *left* and *right* on each clip's centred crop."""
    ids = [model.tokenizer.convert_tokens_to_ids(word) for word in SIDES]
    model.eval()
    out = []
    for clip in clips:
        z = model.motion_pooled_logits(*model.served_batch([clip]))[0]
        out.append(tuple(float(z[i]) for i in ids))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", nargs="+", required=True, help="lexical checkpoint folders")
    p.add_argument("--data", required=True, help="a dataset whose clips carry a label (Bandai's content)")
    p.add_argument("--split", default="test")
    p.add_argument("--json", help="write the figures here")
    p.add_argument("--logits", action="store_true", help="also the mean pooled logits of left and right per label")
    args = p.parse_args()
    import lexmotion
    from lexmotion.data.dataset import MotionDataset
    from retrieval.collection import build_index
    ds = MotionDataset(args.data)
    label = dict(zip(ds.table["id"], (meta.get("content") for meta in ds.metas())))
    out = {}
    for path in args.model:
        model = lexmotion.load(path)
        if not model.has_words:
            raise SystemExit(f"{path}: a dense model has no words to read")
        index = build_index(model, path, args.data, args.split, backend="sparse", progress=False)
        raw, motion, clips = index.raw_vectors, {}, {}
        for row, item in enumerate(index.items):
            name = label.get(item["id"]) or ""
            if any(side in name.split("-") for side in SIDES):
                vector = np.asarray(raw[row].toarray() if hasattr(raw, "toarray") else raw[row]).ravel()
                motion.setdefault(name, []).append(weights(model, torch.from_numpy(vector)))
                clips.setdefault(name, []).append(item["id"])
        texts = sorted(motion)
        vectors = model.encode_text([name.replace("-", " ") for name in texts])
        vectors = vectors.to_dense() if vectors.is_sparse else vectors
        out[path] = {name: {"takes": len(motion[name]),
                            "motion_mean": dict(zip(SIDES, np.mean(motion[name], axis=0).round(3).tolist())),
                            "left_above_right": int(sum(w[0] > w[1] for w in motion[name])),
                            "text": dict(zip(SIDES, np.round(weights(model, vectors[i]), 3).tolist()))}
                     for i, name in enumerate(texts)}
        if args.logits:
            for name in texts:
                z = pooled_logits(model, [ds.clip(i) for i in clips[name]])
                out[path][name]["motion_logits_mean"] = dict(zip(SIDES, np.mean(z, axis=0).round(3).tolist()))
        print(path)
        for name, r in out[path].items():
            print(f"  {name}: {r['takes']} takes, motion left {r['motion_mean']['left']:.3f} right "
                  f"{r['motion_mean']['right']:.3f} (left above right in {r['left_above_right']}); "
                  + (f"logits left {r['motion_logits_mean']['left']:+.2f} right {r['motion_logits_mean']['right']:+.2f}; "
                     if "motion_logits_mean" in r else "") +
                  f"text '{name.replace('-', ' ')}' left {r['text']['left']:.2f} right {r['text']['right']:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"data": args.data, "split": args.split, "models": out}, f, indent=1)
        print(f"-> {args.json}")


if __name__ == "__main__":
    from lexmotion.errors import LexmotionError
    try:
        main()
    except LexmotionError as e:          # a wrong path or folder: one line, as the CLI says it
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)

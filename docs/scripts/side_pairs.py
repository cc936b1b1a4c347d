"""Does a model tell a motion from its mirror image by the side its caption names? Each test clip whose caption
names a side ("turns left"; ``mirror_text`` changes it) is put against its mirror image, and the caption against
the one with the sides swapped:

    python docs/scripts/side_pairs.py --a A0 A1 A2 --b B0 B1 B2 --data data/kitml data/bandai \
        --json docs/results/more-like/side-pairs.json

- **t2m**: the caption scores the clip above the clip's mirror image;
- **m2t**: the clip scores its caption above the caption with the sides swapped.

Each is 1 or 0 per (clip, caption); chance is 0.5. Vectors are the served ones (``encode_text``,
``encode_motion``: the centred crop, the pruned motion vector, the own-word floor); the mirror image is taken
of the same normalised features (``mirror_motion``), so it is the crop's mirror. Mean ± std over checkpoints,
and B − A with the paired bootstrap of `eval compare` over captions and seeds (seed i of A with seed i of B).
A caption's own side words may be wrong (an annotator's left can be the viewer's), which caps both shares
below 1 for every model alike.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch


def side_pairs(data: str, split: str) -> list[tuple[str, int, str]]:
    """(clip id, row index, caption) of every caption of SPLIT that names a side."""
    from lexmotion.data.dataset import MotionDataset
    from lexmotion.data.features import mirror_text
    ds = MotionDataset(data)
    return [(ds.table["id"][i], int(i), t) for i in ds.split_indices(split) for t in ds.row(i)["texts"]
            if mirror_text(t) != t]


def scores(path: str, data: str, pairs: list[tuple[str, int, str]]) -> dict[str, np.ndarray]:
    """Per (clip, caption) of PAIRS: 1.0 where the checkpoint at PATH picks the own side, 0.0 where not."""
    from lexmotion.data.dataset import MotionDataset
    from lexmotion.data.features import mirror_text
    from lexmotion.models.checkpoint import load
    model = load(path).eval()
    ds = MotionDataset(data)
    rows = sorted({i for _, i, _ in pairs})
    features = {i: model.whole_features(ds.row(i)) for i in rows}
    with torch.no_grad():
        mirrored = {i: model.mirror_motion(torch.from_numpy(f)[None])[0].numpy() for i, f in features.items()}

    def unit(v):
        v = v.to_dense() if v.is_sparse else v
        return torch.nn.functional.normalize(v.float(), dim=-1)
    motion = dict(zip(rows, unit(model.encode_motion([features[i] for i in rows]))))
    mirror = dict(zip(rows, unit(model.encode_motion([mirrored[i] for i in rows]))))
    captions = [t for _, _, t in pairs]
    text, swapped = unit(model.encode_text(captions)), unit(model.encode_text([mirror_text(t) for t in captions]))
    t2m, m2t = [], []
    for k, (_, i, _) in enumerate(pairs):
        t2m.append(float(text[k] @ motion[i] > text[k] @ mirror[i]))
        m2t.append(float(motion[i] @ text[k] > motion[i] @ swapped[k]))
    return {"t2m": np.array(t2m), "m2t": np.array(m2t)}


def main() -> None:
    from retrieval.compare import paired_difference
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--a", nargs="+", required=True, help="checkpoints of side A (one per seed)")
    p.add_argument("--b", nargs="*", default=[], help="checkpoints of side B, paired with A seed by seed")
    p.add_argument("--data", nargs="+", required=True, help="dataset folders, each scored on its own")
    p.add_argument("--split", default="test")
    p.add_argument("--json", help="write the figures here")
    args = p.parse_args()
    out = {"a": args.a, "b": args.b, "split": args.split, "sets": {}}
    for data in args.data:
        pairs = side_pairs(data, args.split)
        if len(pairs) < 2:
            print(f"{data}: {len(pairs)} {args.split} captions name a side; skipped")
            continue
        sides = {name: [scores(c, data, pairs) for c in paths] for name, paths in (("a", args.a), ("b", args.b)) if paths}
        entry = {"captions": len(pairs), "clips": len({i for _, i, _ in pairs})}
        print(f"\n{data} ({args.split}): {entry['captions']} captions naming a side, of {entry['clips']} clips")
        for direction in ("t2m", "m2t"):
            per = {name: np.stack([s[direction] for s in runs]) for name, runs in sides.items()}
            entry[direction] = {name: {"mean": float(x.mean()), "std": float(x.mean(axis=1).std()),
                                       "per_checkpoint": x.mean(axis=1).tolist()} for name, x in per.items()}
            line = "  ".join(f"{name.upper()} {x.mean():.3f} ± {x.mean(axis=1).std():.3f}" for name, x in per.items())
            if "b" in per:
                d = paired_difference(per["a"], per["b"])
                entry[direction]["b_minus_a"] = d
                line += f"  B − A {d['difference']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}], {d['verdict']}"
            print(f"  {direction} own side picked: {line}")
        out["sets"][data] = entry
    if args.json:
        from lexmotion.files import write_json
        write_json(args.json, out)
        print(f"-> {args.json}")


if __name__ == "__main__":
    main()

"""How much of the seed-to-seed noise is variance that averaging removes: two checkpoints' cosine scores
summed, against one checkpoint, on the grid's test sets (docs/results/ensembles.md).

    python docs/scripts/ensembles.py                       # the default's rows, seeds 0-2
    python docs/scripts/ensembles.py --json docs/results/ensembles/ensembles.json

Each ensemble pairs seed i with seed i + 1 (or, for lexical + dense, with the same seed), so every side has
three score matrices, and `retrieval.compare.paired_difference` resamples queries and seeds as
`lexmotion eval compare` does.
Run from the repository root after the grid's rows are trained (docs/scripts/grid.py).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
import grid  # noqa: E402  (the rows' folders and test sets)

METRICS = ("R@1", "R@10")


@torch.no_grad()
def cosines(checkpoint: str, data: str, model=None) -> tuple[np.ndarray, list]:
    """(queries, clips) cosine scores of CHECKPOINT (or of MODEL, already loaded) on DATA's deduplicated test
    clips, and their rows."""
    import lexmotion
    from lexmotion.data.batching import MotionTextDataset
    from lexmotion.data.dataset import MotionDataset
    from retrieval.evaluate import deduplicate, encode_split
    model = (model or lexmotion.load(checkpoint)).eval()
    ds = MotionDataset(data)
    keep = set(deduplicate(ds, ds.split_indices("test"))[0])
    items = MotionTextDataset(ds, "test", model.stats, model.config.motion.max_frames)
    items.rows = [r for r in items.rows if r["index"] in keep]
    text, motion = encode_split(model, items)
    normal = torch.nn.functional.normalize
    return (normal(text, dim=-1) @ normal(motion, dim=-1).T).numpy(), items.rows


def positives(rows: list, protocol: str) -> np.ndarray:
    from retrieval.evaluate import sentence_embeddings, threshold_positives
    own = np.eye(len(rows), dtype=bool)
    if protocol == "all":
        return own
    emb = sentence_embeddings([r["texts"][0] for r in rows])
    return threshold_positives(emb @ emb.T, own)


def direction_hits(scores: list[np.ndarray], pos: np.ndarray) -> dict:
    """Per direction and metric: (checkpoints, queries) 0/100 hits, counted as `eval compare` counts them."""
    from lexmotion.metrics import ranks
    from retrieval.compare import hits
    out = {}
    for direction in ("t2m", "m2t"):
        rank = np.stack([ranks(s if direction == "t2m" else s.T, pos if direction == "t2m" else pos.T, "tmr")
                         for s in scores])
        out.update({f"{direction} {m}": h for m, h in hits(rank).items() if m in METRICS})
    return out


def interval(cells: dict) -> str:
    """One `paired_difference` as a table cell: B − A [low, high]."""
    return f"{cells['difference']:+.2f} [{cells['low']:+.2f}, {cells['high']:+.2f}]"


def write_json(path: str | None, results: dict) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(results, indent=1) + "\n")


def row_arguments(description: str) -> argparse.Namespace:
    """--lexical / --dense (grid rows, the default's by default), --seeds and --json, parsed."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--lexical", default="localise", help="grid row of the lexical checkpoints")
    parser.add_argument("--dense", default="dense-descriptions-long", help="grid row of the dense checkpoints")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--json", help="write every figure here")
    return parser.parse_args()


def main() -> int:
    args = row_arguments(__doc__.split("\n\n")[0])
    from retrieval.compare import paired_difference
    seeds = [int(s) for s in args.seeds.split(",")]
    work = Path("runs/grid")
    folder = {row: [grid.plan(row, s, work)[-1]["folder"] for s in seeds]
              for row in (args.lexical, args.dense)}
    results = {"folders": folder}
    for test, (data, protocol) in grid.TESTS.items():
        lex = [cosines(f, data) for f in folder[args.lexical]]
        dense = [cosines(f, data) for f in folder[args.dense]]
        pos = positives(lex[0][1], protocol)
        lex, dense = [s for s, _ in lex], [s for s, _ in dense]
        shift = lambda xs: xs[1:] + xs[:1]          # noqa: E731  seed i with seed i + 1
        sides = {
            "lexical": lex,
            "dense": dense,
            "lexical + lexical": [a + b for a, b in zip(lex, shift(lex))],
            "dense + dense": [a + b for a, b in zip(dense, shift(dense))],
            "lexical + dense": [a + b for a, b in zip(lex, dense)],
        }
        scored = {name: direction_hits(s, pos) for name, s in sides.items()}
        table = {}
        for name, h in scored.items():
            base = scored["dense" if name.startswith("dense") else "lexical"]
            table[name] = {m: paired_difference(base[m], h[m]) for m in h}
            table[name]["against"] = "dense" if name.startswith("dense") else "lexical"
        results[test] = {"protocol": protocol, "queries": len(pos), "sides": table}
        print(f"\n{test} test ({protocol}, {len(pos)} queries); B - A against one checkpoint of the same kind")
        print("| scores | t2m R@1 | t2m R@10 | m2t R@1 | m2t R@10 | t2m R@1 B − A [95%] | t2m R@10 B − A [95%] |")
        print("|---|---|---|---|---|---|---|")
        for name, cells in table.items():
            fig = " | ".join(f"{cells[m]['b']:.2f} ± {cells[m]['b_std']:.2f}" for m in ("t2m R@1", "t2m R@10", "m2t R@1", "m2t R@10"))
            diff = " | ".join("–" if name in ("lexical", "dense") else interval(cells[m]) for m in ("t2m R@1", "t2m R@10"))
            print(f"| {name} | {fig} | {diff} |")
    write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())

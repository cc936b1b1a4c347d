"""How the hub prior's beta was chosen (docs/results/querybank.md): t2m R@1 and R@10 of the default's checkpoints
on the val splits of kitml-cmu and cmu-extra, for each beta, with the bank of their LexCMLP's training captions.

    python docs/scripts/querybank_beta.py --json docs/results/querybank/beta.json

The rule: the beta with the best mean val t2m R@1 of the lexical checkpoints over both val sets (0 means no
prior). Test figures are printed beside, for the record; the choice reads val only. Run from the repository
root after the grid's rows are trained (docs/scripts/grid.py).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
import grid  # noqa: E402  (the rows' folders and test sets)
from ensembles import positives, row_arguments  # noqa: E402

BETAS = (0, 5, 10, 15, 20, 25, 30, 40, 60)
BANK = ["data/kitml-desc", "data/cmu-extra"]          # the default's LexCMLP and dense data


@torch.no_grad()
def split_scores(model, data: str, split: str) -> tuple[np.ndarray, torch.Tensor, list]:
    """(queries, clips) cosines of DATA's deduplicated SPLIT, the raw motion vectors, and the rows."""
    from lexmotion.data.batching import MotionTextDataset
    from lexmotion.data.dataset import MotionDataset
    from retrieval.evaluate import deduplicate, encode_split
    ds = MotionDataset(data)
    keep = set(deduplicate(ds, ds.split_indices(split))[0])
    items = MotionTextDataset(ds, split, model.stats, model.config.motion.max_frames)
    items.rows = [r for r in items.rows if r["index"] in keep]
    text, motion = encode_split(model, items)
    normal = torch.nn.functional.normalize
    return (normal(text, dim=-1) @ normal(motion, dim=-1).T).numpy(), motion, items.rows


def recalls(model, bank_texts: list[str]) -> dict:
    """{"<test> <split>": {beta: [R@1, R@10]}} for one checkpoint."""
    from lexmotion.metrics import ranks
    from lexmotion.models.querybank import bank_cosines, bank_vectors, motion_rows, priors_from_cosines
    captions = bank_vectors(model, bank_texts)                  # encoded once; each beta reuses the cosines
    out = {}
    for test, (data, protocol) in grid.TESTS.items():
        for split in ("val", "test"):
            scores, motion, rows = split_scores(model, data, split)
            pos = positives(rows, protocol)
            cos = bank_cosines(captions, motion_rows(motion))
            for beta in BETAS:
                s = scores if beta == 0 else scores - priors_from_cosines(cos, beta)[None]
                r = ranks(s, pos, "tmr")
                out.setdefault(f"{test} {split}", {})[beta] = [float(np.mean(r <= 1) * 100), float(np.mean(r <= 10) * 100)]
    return out


def chosen(by_test: dict) -> tuple[float, dict]:
    """The rule: the beta with the best mean val t2m R@1 over both val sets (a tie goes to the smaller beta);
    BY_TEST is ``recalls``' dict (or its mean over seeds). -> (beta, {beta: that mean})."""
    val_r1 = {b: float(np.mean([by_test[f"{t} val"][b][0] for t in grid.TESTS])) for b in BETAS}
    return max(BETAS, key=lambda b: (round(val_r1[b], 6), -b)), val_r1


def main() -> int:
    args = row_arguments(__doc__.split("\n\n")[0])
    import lexmotion
    from lexmotion.models.querybank import bank_captions
    from pretrain.data_sources import data_sources
    bank = bank_captions(data_sources(BANK))
    seeds = [int(s) for s in args.seeds.split(",")]
    results = {"bank": {"data": BANK, "captions": len(bank)}, "betas": list(BETAS)}
    for kind, row in (("lexical", args.lexical), ("dense", args.dense)):
        runs = [recalls(lexmotion.load(grid.plan(row, s, Path("runs/grid"))[-1]["folder"]).eval(), bank) for s in seeds]
        results[kind] = {key: {b: np.mean([r[key][b] for r in runs], axis=0).round(2).tolist() for b in BETAS}
                         for key in runs[0]}
    results["chosen_beta"], val_r1 = chosen(results["lexical"])
    print(f"bank: {len(bank)} training captions of {', '.join(BANK)}; t2m R@1 / R@10, mean of seeds {args.seeds}\n")
    print("| checkpoints | set | " + " | ".join(f"beta {b}" for b in BETAS) + " |")
    print("|---|---|" + "---|" * len(BETAS))
    for kind in ("lexical", "dense"):
        for key, by_beta in results[kind].items():
            print(f"| {kind} | {key} | " + " | ".join(f"{by_beta[b][0]:.2f} / {by_beta[b][1]:.2f}" for b in BETAS) + " |")
    print("\nmean lexical val t2m R@1 over both val sets: "
          + ", ".join(f"{b}: {v:.2f}" for b, v in val_r1.items()) + f"\nchosen beta: {results['chosen_beta']}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

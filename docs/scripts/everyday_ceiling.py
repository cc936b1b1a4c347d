"""The best precision@10 each everyday query of the grid (`grid.EVERYDAY`) can reach over cmu-extra test: how
many test clips its pattern accepts, and what share of them do what the query says; and how many training clips
of the default's contrastive data have a caption (any of a clip's captions) that the same pattern accepts, i.e.
whether training ever named what the query asks for.

    python docs/scripts/everyday_ceiling.py [--data data/cmu-extra] [--train data/kitml-desc --train data/cmu-extra]
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grid import EVERYDAY  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="data/cmu-extra", help="the built cmu-extra dataset folder")
    parser.add_argument("--train", action="append", help="a dataset folder whose train split the model learned "
                        "from (repeatable; default the default recipe's LexCMLP data, data/kitml-desc and data/cmu-extra)")
    args = parser.parse_args()
    from lexmotion.data.dataset import MotionDataset
    ds = MotionDataset(args.data)
    # the first caption is the CMU description, the one the grid's judge reads
    captions = [ds.row(i)["texts"][0] for i in ds.split_indices("test")]
    trained = []
    for folder in args.train or ["data/kitml-desc", "data/cmu-extra"]:
        train = MotionDataset(folder)
        trained += [train.row(i)["texts"] for i in train.split_indices("train")]
    print(f"{len(captions)} test clips of {args.data}; {len(trained)} training clips\n")
    print("| query | clips the judge accepts | best P@10 | training clips it accepts | their descriptions |")
    print("|---|---|---|---|---|")
    ceilings = []
    for query, pattern in EVERYDAY.items():
        hits = [c for c in captions if re.search(pattern, c.lower())]
        ceilings.append(min(len(hits), 10) / 10)
        taught = sum(any(re.search(pattern, t.lower()) for t in texts) for texts in trained)
        shown = "; ".join(sorted(set(hits)))
        print(f"| {query} | {len(hits)} | {ceilings[-1]:.1f} | {taught} | {shown} |")
    print(f"\nmean best P@10: {sum(ceilings) / len(ceilings):.2f}")


if __name__ == "__main__":
    main()

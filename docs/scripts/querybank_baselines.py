"""The default served with the hub prior against issue 33's baselines, today's default (grid row today, seeds 0-2)
and the naive mix (grid row naive-mix, seed 0), with paired 95% intervals (docs/results/querybank.md).

    python docs/scripts/querybank_baselines.py --json docs/results/querybank/baselines.json

The baselines' checkpoints are gone; their per-query ranks are in the grid's JSON (docs/results/grid/), scored
on the same test queries. The default's LexCMLP folders (grid row localise) get the query bank of their training
captions (beta 25, `BETA`), as `lexmotion index querybank` gives them, and are scored here.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import grid  # noqa: E402
from querybank_beta import BANK  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", help="write every figure here")
    args = parser.parse_args()
    import lexmotion
    from lexmotion.models.querybank import BETA, make_querybank
    from pretrain.data_sources import data_sources
    from retrieval.compare import compare_ranks
    from retrieval.evaluate import evaluate_protocols
    bank = make_querybank(data_sources(BANK), BETA)
    ours = {test: [] for test in grid.TESTS}
    for seed in (0, 1, 2):
        model = lexmotion.load(grid.plan("localise", seed, Path("runs/grid"))[-1]["folder"]).eval()
        model.querybank = bank
        for test, (data, protocol) in grid.TESTS.items():
            ours[test].append(evaluate_protocols(model, data, "test", (protocol,), keep_ranks=True)[0]["query_ranks"])
    results = {}
    for row, seeds in (("today", (0, 1, 2)), ("naive-mix", (0,))):
        for test in grid.TESTS:
            theirs = [json.loads((grid.RESULTS / row / f"seed{s}.json").read_text())["tests"][test]["query_ranks"]
                      for s in seeds]
            c = compare_ranks(theirs, ours[test])["t2m"]
            results[f"{row} {test}"] = c
            print(f"default + hub prior vs {row} ({test}, seeds {','.join(map(str, seeds))} against 0,1,2): "
                  + "; ".join(f"{m} {v['b']:.2f} vs {v['a']:.2f}, {v['difference']:+.2f} [{v['low']:+.2f}, "
                              f"{v['high']:+.2f}] {v['verdict']}" for m, v in c.items()))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A second LexCMLP head on the same chain: is the two-model gain of docs/results/ensembles.md there when the
second model shares LexMLM, CMMM and LexMMM with the first (docs/results/ensembles.md, "A second head on
the same chain")?

Two lexical models summed reached issue 33's kitml-cmu means (t2m R@1 30.1, R@10 80.6), but two whole
chains cost about 84 minutes against the 60-minute budget. A second head trains LexCMLP alone again, from
the same LexMMM with another seed (seed + 100): about 27 of those minutes. The sum of two lexical cosines
is still a sum over words (each word's two products), so such a pair explains its hits in words.

    python docs/scripts/second_head.py --seeds 0,1 --train      # the second heads (skips finished ones)
    python docs/scripts/second_head.py --seeds 0,1 --json docs/results/ensembles/second-head.json

Sides, on the grid's two test sets, `eval compare`'s paired bootstrap (queries and seeds resampled):
- one head: the default's LexCMLP (grid row localise);
- two heads, one chain: it + its second head;
- two chains: seed i + seed i + 1 (mod the seeds given), as ensembles.py pairs them;
- two heads, weights averaged: one model whose every weight is the mean of the two heads' (a "model soup";
  the two start from the same LexMMM, so their weights may lie in one basin), at one model's serving cost;
and how alike each pair's two models score (the correlation of their cosines).
What the figures decide, written before any: nothing on their own (2 seeds); they say whether the cheaper
pair keeps the gain, for the steering group's call on a two-head default. The weight average was added later,
with the same rule (before it was read on these folders; one look at another chain's seed 0 had shown nothing).
Run from the repository root after `python docs/scripts/grid.py --rows localise --seeds 0,1`.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import grid  # noqa: E402  (the rows' folders and test sets)
from ensembles import cosines, direction_hits, interval, positives, write_json  # noqa: E402

ROW = "localise"
SECOND_SEED = 100


def second_head(seed: int) -> tuple[list[str], Path]:
    """The command that trains seed SEED's second head, and its folder."""
    first = grid.plan(ROW, seed, Path("runs/grid"))[-1]["command"]
    out = Path(f"runs/second-head/seed{seed}")
    command = list(first)
    command[command.index("--seed") + 1] = str(seed + SECOND_SEED)
    command[command.index("--out") + 1] = str(out)
    return command, out


def averaged(first: str, second: str):
    """FIRST's model with every floating-point weight the mean of FIRST's and SECOND's."""
    import torch

    import lexmotion
    model = lexmotion.load(first)
    other = lexmotion.load(second).state_dict()
    with torch.no_grad():
        for name, value in model.state_dict().items():
            if value.is_floating_point():
                value.copy_((value + other[name]) / 2)
    return model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--train", action="store_true", help="train the second heads that are not DONE, then stop")
    parser.add_argument("--json", help="write every figure here")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.train:
        for s in seeds:
            command, out = second_head(s)
            if not (out / "DONE").is_file():
                print("$ " + " ".join(command), flush=True)
                subprocess.run(command, check=True)
        return 0
    from retrieval.compare import paired_difference
    first = [grid.plan(ROW, s, Path("runs/grid"))[-1]["folder"] for s in seeds]
    second = [str(second_head(s)[1]) for s in seeds]
    results = {"first": first, "second": second, "seconds": {}}
    for folder in second:
        metrics = [json.loads(line) for line in (Path(folder) / "metrics.jsonl").read_text().splitlines() if line.strip()]
        results["seconds"][folder] = metrics[-1].get("seconds")
    for test, (data, protocol) in grid.TESTS.items():
        one = [cosines(f, data) for f in first]
        pos = positives(one[0][1], protocol)
        one = [s for s, _ in one]
        two = [cosines(f, data)[0] for f in second]
        soup = [cosines(a, data, averaged(a, b))[0] for a, b in zip(first, second)]
        sides = {"one head": one,
                 "two heads, one chain": [a + b for a, b in zip(one, two)],
                 "two heads, weights averaged": soup,
                 "two chains": [a + b for a, b in zip(one, one[1:] + one[:1])]}
        scored = {name: direction_hits(s, pos) for name, s in sides.items()}
        # how alike two models score: the correlation of their (queries, clips) cosines, mean over seeds
        alike = {"one chain": float(np.mean([np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(one, two)])),
                 "two chains": float(np.mean([np.corrcoef(a.ravel(), b.ravel())[0, 1]
                                              for a, b in zip(one, one[1:] + one[:1])]))}
        table = {name: {m: paired_difference(scored["one head"][m], h[m]) for m in h} for name, h in scored.items()}
        table["one chain - two chains"] = {m: paired_difference(scored["two chains"][m], scored["two heads, one chain"][m])
                                           for m in scored["one head"]}
        results[test] = {"protocol": protocol, "queries": len(pos), "sides": table, "score_correlation": alike}
        print(f"\n{test} test ({protocol}, {len(pos)} queries); B - A against one head")
        print("| scores | t2m R@1 | t2m R@10 | t2m R@1 B − A [95%] | t2m R@10 B − A [95%] |")
        print("|---|---|---|---|---|")
        for name, cells in table.items():
            fig = " | ".join(f"{cells[m]['b']:.2f} ± {cells[m]['b_std']:.2f}" for m in ("t2m R@1", "t2m R@10"))
            diff = " | ".join(interval(cells[m]) for m in ("t2m R@1", "t2m R@10"))
            print(f"| {name} | {fig} | {diff} |")
        print(f"score correlation of the two models: one chain {alike['one chain']:.3f}, "
              f"two chains {alike['two chains']:.3f}")
    write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())

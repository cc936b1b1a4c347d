"""Mirror averaging at test time (the model config's ``mirror_average``): each checkpoint scored as served
(hub prior included) with its motion vectors as they are (A) and averaged with their left/right mirror's,
left and right words swapped back (B), on the same queries; paired 95% intervals over queries and seeds
(``retrieval.compare``). Figures: docs/results/mirror.md.

    python docs/scripts/mirror_average.py CKPT [CKPT ...] --data data/kitml --json OUT.json
    python docs/scripts/mirror_average.py CKPT [CKPT ...] --data data/cmu-extra --protocol threshold --json OUT.json

Run from the repository root.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoints", nargs="+")
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="test")
    p.add_argument("--protocol", default="all")
    p.add_argument("--json", required=True, help="where the comparison goes")
    args = p.parse_args()

    from lexmotion.files import write_json
    from lexmotion.models.checkpoint import load
    from retrieval.compare import compare_ranks, format_comparison
    from retrieval.evaluate import evaluate_protocols
    sides, grounding = {"off": [], "on": []}, {"off": [], "on": []}
    for ckpt in args.checkpoints:
        model = load(ckpt)
        for side, on in (("off", False), ("on", True)):
            model.config.mirror_average = on
            result = evaluate_protocols(model, args.data, args.split, (args.protocol,), keep_ranks=True)[0]
            sides[side].append(result["query_ranks"])
            grounding[side].append({k: result.get("grounding", {}).get(k)
                                    for k in ("motion_nonzeros_median", "text_nonzeros_median")})
            print(f"{ckpt} mirror_average={on}: t2m R@1 {result['t2m']['R@1']:.2f} R@10 {result['t2m']['R@10']:.2f}",
                  flush=True)
    comparison = compare_ranks(sides["off"], sides["on"])
    print(format_comparison(comparison, args.protocol))
    write_json(Path(args.json), {"a": "as served", "b": "mirror_average", "checkpoints": args.checkpoints,
                                 "data": args.data, "split": args.split, "protocol": args.protocol,
                                 "grounding": grounding, "comparison": comparison,
                                 "command": "python docs/scripts/mirror_average.py " + " ".join(args.checkpoints)
                                 + f" --data {args.data} --split {args.split} --protocol {args.protocol} --json {args.json}"})


if __name__ == "__main__":
    main()

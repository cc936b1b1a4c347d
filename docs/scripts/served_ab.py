"""One served-vector setting, off against on: each checkpoint scored as served (hub prior included) with its
config as it is (A) and with KEY=VALUE set in its model config (B), on the same queries; paired 95% intervals
over queries and seeds (``retrieval.compare``). Figures: docs/results/mirror.md (mirror_average=true),
docs/results/long-motion.md (long_motion=windows).

    python docs/scripts/served_ab.py CKPT [CKPT ...] --set long_motion=windows --data data/kitml --json OUT.json
    python docs/scripts/served_ab.py CKPT [CKPT ...] --set mirror_average=true --data data/cmu-extra \\
        --protocol threshold --json OUT.json

Run from the repository root.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoints", nargs="+")
    p.add_argument("--set", required=True, metavar="KEY=VALUE",
                   help="B's model-config value (VALUE read as JSON where it parses: true, 3, ...)")
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="test")
    p.add_argument("--protocol", default="all")
    p.add_argument("--json", required=True, help="where the comparison goes")
    args = p.parse_args(argv)
    key, _, text = args.set.partition("=")
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = text

    from lexmotion.files import write_json
    from lexmotion.models.checkpoint import load
    from retrieval.compare import compare_ranks, format_comparison
    from retrieval.evaluate import evaluate_protocols
    sides, grounding = {"off": [], "on": []}, {"off": [], "on": []}
    for ckpt in args.checkpoints:
        model = load(ckpt)
        served = getattr(model.config, key)
        for side, setting in (("off", served), ("on", value)):
            model.override_serving(**{key: setting})
            result = evaluate_protocols(model, args.data, args.split, (args.protocol,), keep_ranks=True)[0]
            sides[side].append(result["query_ranks"])
            grounding[side].append({k: result.get("grounding", {}).get(k)
                                    for k in ("motion_nonzeros_median", "text_nonzeros_median")})
            print(f"{ckpt} {key}={setting}: t2m R@1 {result['t2m']['R@1']:.2f} R@10 {result['t2m']['R@10']:.2f}",
                  flush=True)
    comparison = compare_ranks(sides["off"], sides["on"])
    print(format_comparison(comparison, args.protocol))
    write_json(Path(args.json), {"a": "as served", "b": args.set, "checkpoints": args.checkpoints,
                                 "data": args.data, "split": args.split, "protocol": args.protocol,
                                 "grounding": grounding, "comparison": comparison,
                                 "command": "python docs/scripts/served_ab.py " + " ".join(args.checkpoints)
                                 + f" --set {args.set} --data {args.data} --split {args.split}"
                                 f" --protocol {args.protocol} --json {args.json}"})


if __name__ == "__main__":
    main()

"""The hub prior's beta chosen for each checkpoint on the val splits, by querybank_beta.py's rule (the best mean val
t2m R@1 over kitml-cmu and cmu-extra val; beta 0, no prior, is a candidate), then a copy of each checkpoint whose
bank uses it.

    python docs/scripts/querybank_beta_each.py --models F [F ...] --bank DIR [DIR ...] --out RUNS [--json OUT]

The default's beta (25) was chosen on the fourth default's checkpoints; a sparser checkpoint spreads its cosines
differently. Each copy is RUNS/<parent>-<name> (`lexmotion index querybank`, which never edits the given checkpoint).
Run from the repository root.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from querybank_beta import chosen, recalls  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", required=True, help="checkpoint folders")
    parser.add_argument("--bank", nargs="+", required=True, help="dataset folders whose training captions make the bank")
    parser.add_argument("--out", required=True, help="folder for the copies")
    parser.add_argument("--json", help="write each checkpoint's sweep and beta here")
    args = parser.parse_args()
    import lexmotion
    from lexmotion.models.querybank import bank_captions
    from pretrain.data_sources import data_sources
    bank = bank_captions(data_sources(args.bank))
    results = {"bank": {"data": args.bank, "captions": len(bank)}, "models": {}}
    for folder in args.models:
        sweep = recalls(lexmotion.load(folder).eval(), bank)
        beta, val_r1 = chosen(sweep)
        copy = Path(args.out) / f"{Path(folder).parent.name}-{Path(folder).name}"
        if beta and not (copy / "querybank.json").is_file():
            subprocess.run(["lexmotion", "index", "querybank", "--model", folder, "--data", *args.bank,
                            "--beta", str(beta), "--out", str(copy)], check=True)
        results["models"][folder] = {"beta": beta, "copy": str(copy) if beta else None, "val_r1": val_r1,
                                     "sweep": sweep}
        print(f"{folder}: beta {beta} (mean val t2m R@1 {val_r1[beta]:.2f}; at 25: {val_r1[25]:.2f})", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

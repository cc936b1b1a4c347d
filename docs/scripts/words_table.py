"""The table of docs/results/words.md from docs/results/words/*.json (written by selectivity_seed0.sh)."""
import json
from pathlib import Path

R = Path("docs/results/words")
ROWS = ["today", "select", "select-motion", "select-flops", "select-absent", "select-absent-1e-2"]
print("| LexCMLP | word AP | held (weight > 0) | calibrated: precision | recall | held | +word keeps (max, 10+) "
      "| median words motion / text | t2m R@10 B − A [95%] | verdict |")
print("|---|---|---|---|---|---|---|---|---|---|")
for row in ROWS:
    if not (R / f"{row}.json").is_file():
        continue
    run = json.loads((R / f"{row}.json").read_text())["runs"][0]
    m, c = run["mean"], run["calibrated"]
    compare = R / f"compare-{row}.json"
    if compare.is_file():
        r = json.loads(compare.read_text())["t2m"]["R@10"]
        diff = f"{r['difference']:+.2f} [{r['low']:+.2f}, {r['high']:+.2f}]"
        verdict = r["verdict"]
    else:
        diff, verdict = "(A: today's)", ""
    print(f"| {row} | {m['ap']:.3f} | {m['held']:.1%} | {c['precision']:.3f} | {c['recall']:.3f} | {c['held']:.1%} "
          f"| {c['keep_ratio']:.2f}× ({c['keep_ratio_max@10']:.2f}×) | {run['motion_nonzeros_median']:g} / "
          f"{run['text_nonzeros_median']:g} | {diff} | {verdict} |")

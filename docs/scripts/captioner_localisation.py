"""Do the captioners place their words better than chance? From `lexmotion eval moments --captioner ... --json`:
per architecture, the localisation and chance of each captioner (mean ± std over seeds), and the words of all
its captioners pooled: found − chance per word (chance: the share of the sequence held by the parts whose
captions hold the word), with a bootstrap 95% interval over those words.

    python docs/scripts/captioner_localisation.py docs/results/moments/captioners-default.json
"""
import json
import sys
from collections import defaultdict

import numpy as np


def main(path: str, resamples: int = 10000) -> None:
    result = json.loads(open(path).read())
    by_arch = defaultdict(list)
    for c in result["captioners"]:
        by_arch[c["arch"]].append(c)
    rng = np.random.default_rng(0)
    for arch, runs in by_arch.items():
        gain = np.concatenate([np.array(r["per_item"]["found"]) - np.array(r["per_item"]["chance"]) for r in runs])
        boot = np.array([gain[rng.integers(0, len(gain), len(gain))].mean() for _ in range(resamples)])
        low, high = np.percentile(boot, [2.5, 97.5])
        loc = [r["localisation"] for r in runs]
        chance = [r["chance"] for r in runs]
        print(f"{arch}: {len(runs)} captioners, localisation {np.mean(loc):.3f} ± {np.std(loc):.3f} "
              f"(chance {np.mean(chance):.3f} ± {np.std(chance):.3f}); words placed "
              f"{' / '.join(str(r['words']) for r in runs)}, no part's caption holds "
              f"{' / '.join(str(r['unplaceable']) for r in runs)}; pooled found − chance over {len(gain)} words "
              f"{gain.mean():+.3f} [{low:+.3f}, {high:+.3f}]")


if __name__ == "__main__":
    main(sys.argv[1])

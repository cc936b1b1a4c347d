"""Does a caption name the action of a take? For each predictions file of `lexmotion caption eval --json` on
Bandai data, the share of clips whose caption holds the label's action word (the first word of its content
label: raise, run, wave, walk), matched by stem, with the synonyms of Bandai's own label captions (raise: lift,
put up). On other data (ids that are not Bandai's), the share of clips whose caption holds a content word of
its references, by stem. Per file, then per setting (A.json, B.json: their predictions files .0., .1., ... one
per captioner), and B − A with `eval compare`'s paired bootstrap (clips and captioners resampled, captioner i
of A with i of B).

    python docs/scripts/label_words.py A.json B.json
"""
import json
import re
import sys
from pathlib import Path

import numpy as np

from captioning.rules import stem
from retrieval.compare import paired_difference

SYNONYMS = {"raise": {"raise", "lift", "put"}}       # Bandai's label captions say "lifts" and "puts ... up" too


def named(caption: str, action: str) -> bool:
    words = {stem(w) for w in re.findall(r"[a-z]+", caption.lower())}
    return bool(words & {stem(w) for w in SYNONYMS.get(action, {action})})


def shares_a_word(caption: str, references: list[str]) -> bool:
    from captioning.guidance import content_words
    return bool({stem(w) for w in content_words(caption)} & {stem(w) for t in references for w in content_words(t)})


def setting(path: str) -> tuple[list[str], np.ndarray]:
    """-> the clip ids, and (captioners, clips) 1 where the caption names the action, 0 elsewhere."""
    files = sorted(Path(path).parent.glob(Path(path).name + ".*.predictions.jsonl"))
    runs = [[json.loads(line) for line in open(f) if line.strip()] for f in files]
    ids = [r["id"] for r in runs[0]]
    assert all([r["id"] for r in run] == ids for run in runs), f"{path}: its runs captioned different clips"
    bandai = all(i.startswith("dataset-") for i in ids)
    actions = [i.split("_")[1].split("-")[0] if bandai else "(references)" for i in ids]   # dataset-2_raise-up-left-hand_active_001
    out = np.array([[named(r["prediction"], a) if bandai else shares_a_word(r["prediction"], r["references"])
                     for r, a in zip(run, actions)] for run in runs], dtype=float)
    for f, run, row in zip(files, runs, out):
        own = np.mean([r.get("source", "captioner") == "captioner" for r in run])
        per = {a: round(float(row[[b == a for b in actions]].mean()), 3) for a in sorted(set(actions))}
        what = "action named" if bandai else "a reference word named"
        print(f"{f}: {what} {row.mean():.3f} ({len(run)} clips; own captions {own:.0%}) {per}")
    return ids, out


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        sys.exit(__doc__)
    (ids_a, a), (ids_b, b) = setting(argv[0]), setting(argv[1])
    assert ids_a == ids_b, "the two settings captioned different clips"
    r = paired_difference(a, b)
    print(f"named, {a.shape[1]} clips: A {r['a']:.3f} ± {r['a_std']:.3f}, B {r['b']:.3f} ± {r['b_std']:.3f}, "
          f"B − A {r['difference']:+.3f} [{r['low']:+.3f}, {r['high']:+.3f}]: {r['verdict']}")


if __name__ == "__main__":
    main(sys.argv[1:])

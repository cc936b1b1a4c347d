"""CMU's descriptions with their words apart: copies of cmu-extra's annotations and descriptions in which a
run-together name ("JogThrough", "OffensiveMoveSpinLeft") is split into its words ("Jog Through") and CMU's
processing tag "CleanedGRS" is dropped. Nothing else in a caption changes.

    python docs/scripts/cmu_words.py --out data/src/cmu-extra-words

BERT's uncased WordPiece reads "JogThrough" as jo ##gt ##hr ##ough, so such a caption teaches no word. Among
the training captions, 93 of cmu-extra's 1,049 and 65 of kitml-cmu's CMU descriptions are run together
(none of cmu-extra's val or test captions; 10 of kitml-cmu's test clips' second captions, which evaluation
does not read). The copies are built into data/cmu-extra-words and data/kitml-desc-words by
docs/scripts/cmu_words.sh, for grid row cmu-words.
"""
from __future__ import annotations

import argparse
import json
import re
import tarfile
from pathlib import Path

ARCHIVE = Path("../shared/data/cmu-extra.tar.xz")
# a lower-case letter followed by a capitalised word: "JogThrough" -> "Jog Through"; "fancY" stays
JOINED = re.compile(r"(?<=[a-z])(?=[A-Z][a-z])")
TAG = re.compile(r"\s*\bCleanedGRS\b")


def words_apart(text: str) -> str:
    return " ".join(JOINED.sub(" ", TAG.sub("", text)).split())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="a new folder: the unpacked archive, rewritten")
    args = parser.parse_args()
    args.out.mkdir(parents=True)
    with tarfile.open(ARCHIVE) as tar:
        tar.extractall(args.out, filter="data")
    root = args.out / "cmu-extra"
    changed = 0
    lines = []
    for line in (root / "annotations.jsonl").read_text().splitlines():
        row = json.loads(line)
        texts = [words_apart(t) for t in row["texts"]]
        changed += texts != row["texts"]
        lines.append(json.dumps({**row, "texts": texts}))
    (root / "annotations.jsonl").write_text("\n".join(lines) + "\n")
    tsv = (root / "descriptions.tsv").read_text().splitlines()
    rewritten = [tsv[0]] + ["\t".join([p[0], words_apart(p[1]), *p[2:]]) for p in (r.split("\t") for r in tsv[1:])]
    (root / "descriptions.tsv").write_text("\n".join(rewritten) + "\n")
    moved = sum(a != b for a, b in zip(tsv, rewritten))
    print(f"{changed} cmu-extra captions and {moved} descriptions.tsv lines rewritten -> {root}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

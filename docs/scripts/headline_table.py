"""The README's headline table: the default (grid row mirror-pairs) against the previous default (text-lr) and
the dense baseline, each figure with its paired 95% interval, read from the committed JSON of
docs/scripts/mirror_pairs.sh and docs/scripts/dense_mirror_pairs.sh (nothing is trained or scored here).

    python docs/scripts/headline_table.py            # the markdown table, and which dense row it quotes

The dense column is whichever dense row on disk had the higher kitml-cmu t2m R@1 mean as served (the stronger
baseline; dense_mirror_pairs.sh's rule). Retrieval: `eval compare` as served; words: `eval words`' per-word AP
through words_intervals.py's paired bootstrap; moments: `eval moments --against`; Bandai: side_pairs.py and
more_like.py. Run from the repository root.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from words_intervals import interval  # noqa: E402

R = Path("docs/results")
DEFAULT, PREVIOUS = "mirror-pairs", "text-lr"
DENSE_ROWS = ("dense-mirror-pairs", "dense-text-lr")
RETRIEVAL = (("kitml-cmu t2m R@1", "kitml", "R@1"), ("kitml-cmu t2m R@10", "kitml", "R@10"),
             ("cmu-extra t2m R@1", "cmu-extra", "R@1"), ("cmu-extra t2m R@10", "cmu-extra", "R@10"))
MOMENTS = (("word localisation (chance 0.351)", "word_localisation"),
           ("moment R@1, IoU ≥ 0.5", "moment_R1_iou0.5"), ("moment R@1, IoU ≥ 0.7", "moment_R1_iou0.7"))


def load(path: Path) -> dict:
    if not path.is_file():
        sys.exit(f"{path}: not written yet (docs/scripts/mirror_pairs.sh, dense_mirror_pairs.sh)")
    return json.loads(path.read_text())


def compare(data: str, against: str) -> dict:
    """`eval compare` of the default (B) against AGAINST (A) on one test set, t2m."""
    name = "default" if against == PREVIOUS else against
    return load(R / "cmu-words" / f"compare-{data}-{DEFAULT}-vs-{name}.json")["t2m"]


def cell(mean: float, std: float, digits: int) -> str:
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def diff(d: dict, digits: int) -> str:
    """B − A [low, high], in bold when the interval's own verdict says one side is better."""
    text = f"{d['difference']:+.{digits}f} [{d['low']:+.{digits}f}, {d['high']:+.{digits}f}]".replace("-", "−")
    return text if d["verdict"] == "no measurable difference" else f"**{text}**"


def words_row() -> dict:
    """Word AP of the default's and the previous default's motion vectors, paired over words and seeds."""
    return interval(str(R / "crop-frame" / "kitml-words-default.json"), "ap",
                    str(R / "mirror-pairs" / "kitml-words-mirror-pairs.json"), "ap")[1]


def main() -> None:
    r1 = {row: compare("kitml", row)["R@1"]["a"] for row in DENSE_ROWS}
    dense = max(DENSE_ROWS, key=r1.get)
    print(f"dense column: {dense} (kitml-cmu t2m R@1 as served: "
          + ", ".join(f"{row} {value:.2f}" for row, value in r1.items()) + ")\n")
    print("| figure | default | previous default | dense | default − previous [95%] | default − dense [95%] |")
    print("|---|---|---|---|---|---|")
    for label, data, key in RETRIEVAL:
        p, d = compare(data, PREVIOUS)[key], compare(data, dense)[key]
        print(f"| {label} | {cell(p['b'], p['b_std'], 2)} | {cell(p['a'], p['a_std'], 2)} | "
              f"{cell(d['a'], d['a_std'], 2)} | {diff(p, 2)} | {diff(d, 2)} |")
    w = words_row()
    print(f"| word AP, kitml-cmu test (chance 0.053) | {cell(w['b'], w['b_std'], 3)} | {cell(w['a'], w['a_std'], 3)} "
          f"| – | {diff(w, 3)} | |")
    prev = load(R / "mirror-pairs" / "moments-mirror-pairs.json")["comparison"]
    vs = load(R / "mirror-pairs" / f"moments-mirror-pairs-vs-{dense}.json")["comparison"]
    for label, key in MOMENTS:
        p, d = prev[key], vs[key]
        print(f"| {label} | {cell(p['b'], p['b_std'], 3)} | {cell(p['a'], p['a_std'], 3)} | "
              f"{cell(d['a'], d['a_std'], 3)} | {diff(p, 3)} | {diff(d, 3)} |")
    sides = (load(R / "mirror-pairs" / "side-pairs.json"), load(R / "mirror-pairs" / f"side-pairs-vs-{dense}.json"))
    p, d = (s["sets"]["data/bandai"]["t2m"]["b_minus_a"] for s in sides)
    print(f"| Bandai side pairs, t2m (chance 0.5) | {cell(p['b'], p['b_std'], 3)} | {cell(p['a'], p['a_std'], 3)} | "
          f"{cell(d['a'], d['a_std'], 3)} | {diff(p, 3)} | {diff(d, 3)} |")
    likes = (load(R / "mirror-pairs" / "more-like-bandai-test.json"),
             load(R / "mirror-pairs" / f"more-like-vs-{dense}.json"))
    p, d = (s["summary"]["content_p10"]["lexical_minus_dense"] for s in likes)
    print(f"| Bandai more like this, action P@10 | {cell(p['b'], p['b_std'], 3)} | {cell(p['a'], p['a_std'], 3)} | "
          f"{cell(d['a'], d['a_std'], 3)} | {diff(p, 3)} | {diff(d, 3)} |")


if __name__ == "__main__":
    main()

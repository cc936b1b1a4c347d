"""Where a long take's motion changes, and what each stretch between changes shows, in words: the change points
that `index build --segments` and `eval moments --proposals segments` cut at (retrieval/segments.py), and each
stretch encoded alone, as `lexmotion explain --changes` reads a file.

    python docs/scripts/take_segments.py CKPT --data DIR ID [ID ...] [--top 4] [--words squat,run]
"""
from __future__ import annotations

import argparse


def main() -> int:
    from lexmotion.app.explain import stretch_words
    from lexmotion.data.dataset import MotionDataset
    from lexmotion.models.checkpoint import load
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("ids", nargs="+")
    p.add_argument("--data", required=True)
    p.add_argument("--top", type=int, default=4, help="each stretch's top words to show (default 4)")
    p.add_argument("--words", default="", help="comma-separated words whose weight in each stretch is shown too")
    args = p.parse_args()
    words = [w for w in args.words.split(",") if w]
    model = load(args.model)
    ds = MotionDataset(args.data)
    for clip_id in args.ids:
        row = ds.row(ds.find(clip_id))
        clip = {"joints": row["joints"], "fps": float(row["fps"]), "skeleton": str(row["skeleton"])}
        stretches = stretch_words(model, clip, words, args.top)
        print(f"\n{clip_id} ({stretches[-1]['end']:.1f} s): {' / '.join(row['texts'])}")
        print("| stretch (s) | " + "".join(f"{w} | " for w in words) + "top words |\n|---|" + "---|" * len(words) + "---|")
        for s in stretches:
            print(f"| {s['start']:.1f}–{s['end']:.1f} | " + "".join(f"{s['words'][w]:.2f} | " for w in words)
                  + ", ".join(f"{w} {x:.2f}" for w, x in s["top"] if x > 0) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``lexmotion demo``: the main job on the sample shipped inside the package."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

SAMPLE_DIR = Path(__file__).parent / "sample"


def run_demo(out: str | None = None) -> int:
    from lexmotion.cli import format_info
    from lexmotion.dataset import MotionDataset, build_dataset, dataset_info
    from lexmotion.features import FEATURE_DIM, FEATURE_LAYOUT, mirror_joints, mirror_text, part_features
    from lexmotion.render import render_gif

    work = Path(out) if out else Path(tempfile.mkdtemp(prefix="lexmotion-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    data_dir = work / "sample-dataset"
    print(f"[1/3] building the embedded kitml-cmu sample ({SAMPLE_DIR}) into {data_dir}")
    report = build_dataset("kitml-cmu", SAMPLE_DIR, data_dir, overwrite=True, progress=False)
    print(f"      {report['clips']} clips, {report['captions']} captions, {report['num_skipped']} skipped\n")
    print(format_info(dataset_info(data_dir)) + "\n")

    ds = MotionDataset(data_dir)
    row = ds.row(0)
    skeleton = ds.skeleton(row["skeleton"])
    feats = part_features(row["joints"], float(row["fps"]), skeleton)
    print(f"[2/3] features of clip {row['id']} ({row['texts'][0]!r}): {row['num_frames']} frames at "
          f"{row['fps']:g} fps -> {feats.shape[0]} frames at 20 fps x {FEATURE_DIM} values")
    print("      parts: " + ", ".join(f"{p} {b - a}" for p, (a, b) in FEATURE_LAYOUT.items()))
    mirrored = [i for i, texts in enumerate(ds.table["texts"]) if any("left" in t.lower() for t in texts)]
    if mirrored:
        m = ds.row(mirrored[0])
        flipped = mirror_joints(m["joints"], ds.skeleton(m["skeleton"]))
        moved = float(np.abs(flipped - m["joints"]).max())
        print(f"      mirror augmentation: {m['texts'][0]!r} -> {mirror_text(m['texts'][0])!r} "
              f"(x reflected, left/right joints swapped; joints move up to {moved:.2f} m)")
    gif = work / f"{row['id']}.gif"
    print(f"\n[3/3] rendering {row['id']} as a stick figure -> {gif}")
    render_gif(row["joints"], float(row["fps"]), skeleton, gif, title=row["texts"][0])
    print(f"\ndone: outputs in {work}")
    print("next: `lexmotion data build kitml-cmu --root ../shared/data/kitml-cmu --out data/kitml` on the full data."
          "\n(pretraining, search and captioning are not available in this version yet)")
    return 0

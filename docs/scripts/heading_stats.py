"""How far the body turns within its clips, and how much the per-frame heading jitters (body-frame.md); how
many clips are longer than the default encoder's 8 s, so that training crops them (window-frame.md).

For each dataset's clips of a split: the share of frames facing more than 45 and 90 degrees away from their
clip's first frame, and the median distance of the heading from a smoothed copy of itself (Gaussian, sigma 10
frames at 20 fps), per clip, grouped by what the clip's first caption names on Bandai; the share of clips
longer than 8 s, and the median duration.

    python docs/scripts/heading_stats.py [--split train] DATA ...
"""
import argparse

import numpy as np
from scipy.ndimage import gaussian_filter1d

from lexmotion.data.dataset import MotionDataset
from lexmotion.data.features import face_forward, heading, resample, to_canonical

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("data", nargs="+")
parser.add_argument("--split", default="train")
args = parser.parse_args()
for path in args.data:
    ds = MotionDataset(path)
    turned, jitter, seconds = [], {}, []
    for i in ds.split_indices(args.split):
        row = ds.row(i)
        clip = resample(np.asarray(row["joints"], dtype=np.float64), float(row["fps"]))
        seconds.append((len(clip) - 1) / 20.0)
        angle = np.unwrap(heading(face_forward(to_canonical(clip, ds.skeleton(row["skeleton"])))))
        turned.append(np.degrees(np.abs(angle - angle[0])))
        caption = row["texts"][0].lower() if row["texts"] else ""
        group = next((g for g in ("wave", "raise", "walk", "run") if g in caption), "other") \
            if row["caption_source"] == "label" else "all"
        jitter.setdefault(group, []).append(np.median(np.degrees(np.abs(angle - gaussian_filter1d(angle, 10, mode="nearest")))))
    frames = np.concatenate(turned)
    print(f"{path} ({args.split}, {len(turned)} clips): frames facing > 45 deg from their first frame "
          f"{(frames > 45).mean():.2f}, > 90 deg {(frames > 90).mean():.2f}; clips longer than 8 s "
          f"{(np.array(seconds) > 8).mean():.2f}, median {np.median(seconds):.1f} s")
    for group, values in sorted(jitter.items()):
        print(f"  {group}: {len(values)} clips, heading from its smoothed copy: median {np.median(values):.2f} deg")

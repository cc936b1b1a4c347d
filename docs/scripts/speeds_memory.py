"""What `speeds` costs before training starts: the seconds to compute a phase's training features and the memory
they hold, as captured against three rates (mirroring on, as in the default), over the default's two training sets.

    python docs/scripts/speeds_memory.py
"""
import time

from lexmotion.data.batching import MotionTextDataset
from lexmotion.data.dataset import MotionDataset

DATA = ("data/kitml-desc-words", "data/cmu-extra-words")
for speeds in [(1.0,), (0.9, 1.0, 1.1)]:
    start, held, seen = time.time(), 0, set()
    for path in DATA:
        dataset = MotionTextDataset(MotionDataset(path), "train", max_frames=160, train=True, mirror_prob=0.5,
                                    speeds=speeds)
        for row in dataset.rows:
            for array in [row["features"], row["mirrored"], *(a for v in row.get("variants", []) for a in v)]:
                if id(array) not in seen:          # rate 1.0's arrays are shared with its variant
                    seen.add(id(array))
                    held += array.nbytes
    print(f"speeds {list(speeds)}: {time.time() - start:.1f} s, {held / 1e6:.0f} MB of features")

"""docs/results/words/three-clips.png: the words of three real kitml-cmu test clips, as served before
calibration (every weight > 0: the 12 largest shown, with how many there are) and after it (the words over
their calibrated thresholds), for today's seed-0 LexCMLP and the select variant (docs/results/words.md).

    python docs/scripts/words_figure.py [WORK]      # WORK: the grid's work folder (default runs/grid)
"""
import sys
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure

from lexmotion.data.batching import MotionTextDataset
from lexmotion.data.dataset import MotionDataset
from lexmotion.files import save_figure
from lexmotion.models.checkpoint import load
from lexmotion.models.thresholds import read_thresholds, word_limits

WORK = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/grid")
MODELS = {"today's": WORK / "phases/lexcmlp-031c44cd2f-calibrated", "select": WORK / "select/select-calibrated"}
CLIPS = ("kick with the right", "sits down", "dancing and jumping")   # the first test clip whose caption says each


def words(model, path, features):
    with torch.no_grad():
        served = model.prune_motion(model.motion_lexical(*model.served_batch([features]), prune=False)).float()[0].numpy()
    limits = word_limits(read_thresholds(path), len(served))
    order = [i for i in np.argsort(-served) if served[i] > 0 and not model.tokenizer.convert_ids_to_tokens(int(i)).startswith("##")]
    token = model.tokenizer.convert_ids_to_tokens
    return ([(token(int(i)), served[i]) for i in order[:12]], int((served > 0).sum()),
            [(token(int(i)), served[i]) for i in order if served[i] > limits[i]][:12])


def main():
    ds = MotionDataset("data/kitml")
    fig = Figure(figsize=(15, 10), layout="constrained")
    axes = fig.subplots(len(CLIPS), 2 * len(MODELS))
    for m, (name, path) in enumerate(MODELS.items()):
        model = load(path)
        items = MotionTextDataset(ds, "test", model.stats, model.config.motion.max_frames)
        for row, verb in enumerate(CLIPS):
            item = next(r for r in items.rows if verb in r["texts"][0].lower())
            before, held, after = words(model, path, item["features"])
            for col, (title, pairs) in enumerate(((f"{name}: weight > 0 ({held} words)", before),
                                                  (f"{name}: calibrated ({len(after)} words)", after))):
                ax = axes[row, 2 * m + col]
                ax.barh([w for w, _ in pairs][::-1], [v for _, v in pairs][::-1], color="#2b6cb0" if col else "#999")
                ax.set_title(title if row else f"{title}\n", fontsize=9)
                ax.tick_params(labelsize=8)
            axes[row, 0].set_ylabel(f'"{item["texts"][0]}"', fontsize=8)
    save_figure(fig, "docs/results/words/three-clips.png")
    print("wrote docs/results/words/three-clips.png")


if __name__ == "__main__":
    main()

"""The datasets a phase trains on: folders and the caption sources used there, checked before training,
and the one set of normalisation statistics a run shares."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from lexmotion.errors import LexmotionError


@dataclass(frozen=True)
class DataSource:
    """A dataset folder a phase trains on, and the caption sources it uses there (None: all)."""
    path: str
    captions: tuple[str, ...] | None = None


def data_sources(entries, source: str = "config") -> list[DataSource]:
    """A phase's ``data`` list: folder paths, or {"path": ..., "captions": [source, ...]} objects."""
    out = []
    for entry in entries:
        if isinstance(entry, DataSource):
            out.append(entry)
        elif isinstance(entry, str) and entry:
            out.append(DataSource(entry))
        elif isinstance(entry, dict) and isinstance(entry.get("path"), str) and set(entry) <= {"path", "captions"} \
                and (entry.get("captions") is None or (isinstance(entry["captions"], list)
                                                       and all(isinstance(c, str) for c in entry["captions"]))):
            captions = entry.get("captions")
            out.append(DataSource(entry["path"], tuple(captions) if captions is not None else None))
        else:
            raise LexmotionError(f"{source}: a data entry is a dataset folder or {{\"path\": ..., \"captions\": "
                                 f"[...]}}, not {entry!r}")
    return out


def check_data(sources: list[DataSource]) -> None:
    """Each folder a built dataset holding the caption sources asked of it: one line naming it, before training."""
    from lexmotion.data.dataset import MotionDataset
    for src in sources:
        if not Path(src.path).is_dir():
            raise LexmotionError(f"{src.path}: no such dataset folder (make it with `lexmotion data build`)")
        if src.captions is None:
            continue
        held = {s for row in MotionDataset(src.path).text_sources() for s in row}
        missing = [c for c in src.captions if c not in held]
        if missing:
            raise LexmotionError(f"{src.path}: holds no caption of source {', '.join(missing)} "
                                 f"(it holds {', '.join(sorted(held)) or 'none'})")


def union_stats(paths: list[str], frame: str = "first") -> dict:
    """One set of normalisation statistics over the training motions of every dataset of a run (pooled
    from each dataset's own: frame-weighted means and variances), read in FRAME (``features.FRAMES``). A folder
    built again from the same motions (data/kitml-desc is data/kitml with more captions) counts once: its
    training statistics are identical."""
    import numpy as np

    from lexmotion.data.dataset import MotionDataset
    seen = {}
    for p in dict.fromkeys(paths):
        s = MotionDataset(p).stats
        seen.setdefault(json.dumps([s["frames"], s["mean"], s["std"]]), (p, s))
    pooled, stats = [p for p, _ in seen.values()], [s for _, s in seen.values()]
    if frame != "first":
        return {**_motion_stats(pooled, frame), "pooled_from": pooled}
    if len(stats) == 1:
        return stats[0]
    n = np.array([s["frames"] for s in stats], dtype=np.float64)[:, None]
    means, stds = (np.array([s[k] for s in stats], dtype=np.float64) for k in ("mean", "std"))
    mean = (n * means).sum(0) / n.sum()
    std = np.sqrt(np.maximum((n * (stds ** 2 + means ** 2)).sum(0) / n.sum() - mean ** 2, 0))
    std = np.maximum(std, 1e-2 * max(float(np.median(std)), 1e-6))
    return {**stats[0], "mean": mean.tolist(), "std": std.tolist(), "frames": int(n.sum()), "pooled_from": pooled}


def _motion_stats(paths: list[str], frame: str) -> dict:
    """Statistics of FRAME's features over the training motions of PATHS (every clip where a dataset has
    no train split, as its own statistics are), computed again from the joints: a dataset folder keeps
    only its first-frame statistics."""
    import numpy as np

    from lexmotion.data.dataset import MotionDataset
    from lexmotion.data.features import feature_stats, part_features
    features = []
    for p in paths:
        ds = MotionDataset(p)
        indices = ds.split_indices("train" if "train" in set(ds.table["split"]) else None)
        for i in indices:
            row = ds.row(i)
            features.append(part_features(np.asarray(row["joints"]), float(row["fps"]), ds.skeleton(row["skeleton"])))
    return feature_stats(features, frame)


def keep_share(rows: list[dict], share: float, seed: int) -> list[dict]:
    """The first SHARE of ROWS in an order drawn from each clip's id and SEED: the same clips whichever
    phase asks, and a smaller share's clips within a larger one's."""
    import hashlib
    import math
    rank = sorted(rows, key=lambda r: hashlib.sha1(f"{seed}:{r['id']}".encode()).hexdigest())
    kept = {id(r) for r in rank[:max(1, math.ceil(share * len(rows)))]}
    return [r for r in rows if id(r) in kept]

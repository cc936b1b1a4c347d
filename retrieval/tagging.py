"""Keywords for motions (``lexmotion tag``): the words a motion shows, by per-word thresholds calibrated
on held-back captioned clips (how: ``lexmotion/models/thresholds.py``). ``tag --calibrate`` writes them,
with how they were made, to ``thresholds.json`` in a new checkpoint folder (a copy of the given one,
which is never edited).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lexmotion.errors import LexmotionError
from lexmotion.models.thresholds import THRESHOLDS, calibrate, read_thresholds, word_limits
from lexmotion.models.vocabulary import is_whole_word, word_stem


def write_calibrated(model_path, calibration: dict, out) -> Path:
    """A copy of the checkpoint MODEL_PATH at OUT with thresholds.json; the given checkpoint is not touched."""
    from lexmotion.models.checkpoint import copy_checkpoint_with
    return copy_checkpoint_with(model_path, out, {
        THRESHOLDS: {**calibration, "per_word": {str(k): v for k, v in calibration["per_word"].items()}}})


def tag_vectors(model, vectors: np.ndarray, thresholds: dict, k: int = 10) -> list[list[tuple[str, float]]]:
    """Each (V,) network motion vector -> its words over their thresholds, (word, weight), strongest first;
    a word once, by its strongest inflection ("start 2.23", not also "starts" and "starting")."""
    limits = word_limits(thresholds, vectors.shape[1])
    out = []
    for v in vectors:
        words = np.flatnonzero(v > limits)
        tokens = [(model.tokenizer.convert_ids_to_tokens(int(i)), round(float(v[i]), 4))
                  for i in words[np.argsort(-v[words])]]
        seen, tags = set(), []
        for t, w in tokens:
            if is_whole_word(t) and (stem := word_stem(t)) not in seen:
                seen.add(stem)
                tags.append((t, w))
        out.append(tags[:k])
    return out


def _motion_files(paths: list[str]) -> list[Path]:
    """Files as given, and the .bvh / .npy files under folders, in order."""
    out = []
    for p in map(Path, paths):
        out += sorted(f for f in p.rglob("*") if f.suffix.lower() in (".bvh", ".npy")) if p.is_dir() else [p]
    return out


def _tag_files(model, files: list[Path], args, thresholds: dict, progress: bool) -> tuple[list[dict], list[dict]]:
    """Every readable file tagged; an unreadable one skipped with its reason (the batch goes on)."""
    import torch
    from tqdm.auto import tqdm

    from lexmotion.data.limits import check_duration_option
    from lexmotion.data.motion_file import read_motion_file
    limits = check_duration_option(args.max_duration_s)
    tags, skipped = [], []
    for f in tqdm(files, desc="tagging", unit="file", disable=not progress or len(files) < 2):
        try:
            clip = read_motion_file(str(f), args.fps, args.skeleton, limits)
            with torch.no_grad():
                vector = model.motion_lexical(*model.served_batch([clip]), prune=False).float().cpu().numpy()
        except LexmotionError as err:
            skipped.append({"file": str(f), "reason": str(err).removeprefix(f"{f}: ")})   # the file is its own key
            continue
        tags.append({"file": str(f), "words": tag_vectors(model, vector, thresholds, args.k)[0]})
    return tags, skipped


def _tag_dataset(model, args, thresholds: dict, progress: bool) -> list[dict]:
    import torch

    from lexmotion.data.batching import MotionTextDataset
    from lexmotion.data.dataset import MotionDataset
    items = MotionTextDataset(MotionDataset(args.data), None if args.split == "all" else args.split, model.stats,
                              model.served_frames, require_text=False, progress=progress)
    tags = []
    for i in range(0, len(items.rows), 64):
        rows = items.rows[i:i + 64]
        with torch.no_grad():
            vectors = model.motion_lexical(*model.served_batch([r["features"] for r in rows]), prune=False)
        for r, words in zip(rows, tag_vectors(model, vectors.float().cpu().numpy(), thresholds, args.k)):
            tags.append({"id": r["id"], "texts": r["texts"], "words": words})
    return tags


def summary(tags: list[dict], thresholds: dict) -> str:
    """One line: how many motions got no word, and, when most did, where the thresholds came from."""
    from lexmotion.models.thresholds import calibrated_on
    bare = sum(not t["words"] for t in tags)
    line = f"{len(tags)} motion(s) tagged, {bare} with no word over its threshold"
    if bare > len(tags) / 2:            # thresholds set on one archive can sit above every motion of another capture
        line += (f"; the thresholds were calibrated on {calibrated_on(thresholds)}: "
                 "for motions unlike those, calibrate on labelled clips of this library (`lexmotion tag --calibrate "
                 "--model CKPT --data DIR --out NEW_CKPT`)")
    return line


def main_tag(args) -> int:
    """`lexmotion tag`: calibrate a copy of a checkpoint, or tag motions with its calibrated words."""
    from lexmotion.device import resolve_device
    from lexmotion.files import write_json
    from lexmotion.models.checkpoint import load, read_config
    read_config(args.model)
    if args.calibrate:
        if not args.data or not args.out or args.files:
            raise LexmotionError("tag --calibrate needs --data DIR (with a val split) and --out NEW_CKPT, and no files")
        model = load(args.model, device=resolve_device(args.device))
        calibration = calibrate(model, args.data, args.seed, progress=not args.quiet)
        out = write_calibrated(args.model, calibration, args.out)
        print(f"calibrated {len(calibration['per_word'])} words on {calibration['clips']} clips (global threshold "
              f"{calibration['global']:.3f} for the rest) -> {out}")
        return 0
    if bool(args.data) == bool(args.files):
        raise LexmotionError("tag needs --data DIR or motion files (.bvh, .npy, or folders of them), not both")
    thresholds = read_thresholds(args.model)               # before the model loads: an old checkpoint is one line
    model = load(args.model, device=resolve_device(args.device))
    if args.data:
        tags, skipped = _tag_dataset(model, args, thresholds, not args.quiet), []
    else:
        tags, skipped = _tag_files(model, _motion_files(args.files), args, thresholds, not args.quiet)
    for t in tags:
        print(f"{t.get('id') or t['file']}: " + (", ".join(f"{w} {v:.2f}" for w, v in t["words"]) or "(no word)"))
    for s in skipped:
        print(f"skipped {s['file']}: {s['reason']}")
    if tags:
        print(summary(tags, thresholds))
    if args.json:
        write_json(Path(args.json), {"model": str(args.model), "tags": tags, "skipped": skipped})
    if not tags:
        raise LexmotionError(f"nothing was tagged: {len(skipped)} file(s) skipped (listed above)")
    return 0

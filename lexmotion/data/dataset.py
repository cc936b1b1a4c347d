"""Built datasets: an Arrow dataset (Hugging Face ``datasets``) plus, beside it,
the skeletons it uses, its normalisation statistics and its build report.

Layout of a built dataset folder::

    DIR/                      datasets.load_from_disk(DIR) opens it
    DIR/lexmotion.json        version, source, skeleton definitions
    DIR/stats.json            feature mean/std over the train split (20 fps)
    DIR/build_report.json     counts per split and every skipped item with its reason

Writes are atomic: everything goes to a temporary folder that is renamed at the end.
"""
from __future__ import annotations

import itertools
import json
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from lexmotion import __version__
from lexmotion.data.features import feature_stats, part_features
from lexmotion.data.importers import (
    SOURCES,
    Skipped,
    extra_captions,
    import_bandai,
    import_bvh_folder,
    import_guo,
    import_kitml_cmu,
)
from lexmotion.data.skeletons import Skeleton, get_skeleton
from lexmotion.errors import LexmotionError
from lexmotion.files import claim_output, mark_folder, replace_folder, write_json

META_FILE, STATS_FILE, REPORT_FILE = "lexmotion.json", "stats.json", "build_report.json"
# What a model trained on each source inherits (docs/data.md, "Data sources and licences").
LICENCES = {
    "kitml-cmu": ("CMU Graphics Lab mocap (free for research and commercial use, not for resale); "
                  "KIT-ML captions (cite Plappert et al. 2016)", False),
    "bandai": ("CC BY-NC 4.0", True),
    "guo": ("HumanML3D annotations MIT; the motions are AMASS's, licensed for non-commercial research", True),
    "bvh": ("the licence of your own BVH files", False),
}


def data_licence(source: str) -> dict:
    licence, non_commercial = LICENCES.get(source, ("unknown", False))
    return {"licence": licence, "non_commercial": non_commercial}


_CHUNK = 256


def _features_schema(num_joints: int):
    import datasets
    return datasets.Features({
        "id": datasets.Value("string"),
        "joints": datasets.Array3D(shape=(None, num_joints, 3), dtype="float32"),
        "fps": datasets.Value("float32"),
        "skeleton": datasets.Value("string"),
        "texts": datasets.Sequence(datasets.Value("string")),
        "text_sources": datasets.Sequence(datasets.Value("string")),     # each caption's source, as texts
        "split": datasets.Value("string"),
        "caption_source": datasets.Value("string"),
        "num_frames": datasets.Value("int32"),
        "meta": datasets.Value("string"),
    })


def _iter_source(source: str, root: Path, skeletons: dict, options: dict):
    if source == "kitml-cmu":
        extra = extra_captions(options["extra_captions"]) if options.get("extra_captions") else None
        return import_kitml_cmu(root, skeletons, extra)
    if source == "bandai":
        return import_bandai(root, skeletons)
    if source == "guo":
        return import_guo(root, skeletons, skeleton=options.get("skeleton"), fps=options.get("fps"))
    if source == "bvh":
        return import_bvh_folder(root, skeletons, captions=options.get("captions"),
                                 scale=options.get("scale"), up_axis=options.get("up_axis", "y"))
    raise LexmotionError(f"unknown source {source!r}; choose one of {', '.join(SOURCES)}")


def _save_quietly(table, folder: Path) -> None:
    """save_to_disk without its progress bar (for --quiet), leaving the global setting as it was."""
    import datasets

    was_disabled = datasets.utils.are_progress_bars_disabled()
    datasets.utils.disable_progress_bars()
    try:
        table.save_to_disk(str(folder))
    finally:
        if not was_disabled:
            datasets.utils.enable_progress_bars()


def build_dataset(source: str, root: str | Path, out: str | Path, overwrite: bool = False,
                  progress: bool = True, **options) -> dict:
    """Import ``source`` from ``root`` into a dataset folder ``out``; return the build report."""
    import datasets
    from tqdm.auto import tqdm

    out = claim_output(out, "dataset", overwrite=overwrite, inputs=[root])
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.time()
    skeletons: dict[str, Skeleton] = {}
    skipped: list[dict] = []
    chunks, rows = [], {k: [] for k in _features_schema(1)}
    stats_features = []
    num_joints = None
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.partial-"))
    try:
        items = _iter_source(source, Path(root), skeletons, options)
        # Take the first item before the progress bar starts, so that a bad root
        # (missing folder, no caption file) fails with one clean line.
        first = next(items, None)
        items = itertools.chain([first] if first is not None else [], items)
        for item in tqdm(items, desc=f"importing {source}", unit="clip", disable=not progress):
            if isinstance(item, Skipped):
                skipped.append({"item": item.item, "reason": item.reason})
                continue
            if num_joints is None:
                num_joints = item["joints"].shape[1]
            elif item["joints"].shape[1] != num_joints:
                skipped.append({"item": item["id"], "reason": f"{item['joints'].shape[1]} joints; this dataset's "
                                f"clips have {num_joints} (build mixed rigs as separate datasets)"})
                continue
            if item["split"] == "train":
                stats_features.append(part_features(item["joints"], item["fps"], skeletons[item["skeleton"]]))
            for k in rows:
                rows[k].append(item[k])
            if len(rows["id"]) >= _CHUNK:
                chunks.append(datasets.Dataset.from_dict(rows, features=_features_schema(num_joints)))
                rows = {k: [] for k in rows}
        if rows["id"]:
            chunks.append(datasets.Dataset.from_dict(rows, features=_features_schema(num_joints)))
        if not chunks:
            reasons = "; ".join(f"{s['item']}: {s['reason']}" for s in skipped[:3])
            raise LexmotionError(f"{root}: no usable clip found" + (f" ({reasons})" if reasons else ""))
        table = datasets.concatenate_datasets(chunks)
        if progress:
            table.save_to_disk(str(tmp))
        else:
            _save_quietly(table, tmp)
        if not stats_features:
            # No train split (e.g. a folder of BVH to index): statistics over all clips.
            stats_features = [part_features(np.asarray(r["joints"]), r["fps"], skeletons[r["skeleton"]])
                              for r in table.with_format("numpy")]
        write_json(tmp / STATS_FILE, feature_stats(stats_features))
        write_json(tmp / META_FILE, {"lexmotion_version": __version__, "source": source, "root": str(root),
                                     "skeletons": {n: s.to_dict() for n, s in skeletons.items()}})
        splits = Counter(table["split"])
        report = {"source": source, "root": str(root), "out": str(out), "clips": len(table),
                  "splits": dict(sorted(splits.items())),
                  "captions": sum(len(t) for t in table["texts"]),
                  "caption_source": dict(Counter(table["caption_source"])),
                  "text_sources": dict(Counter(s for sources in table["text_sources"] for s in sources)),
                  "skipped": skipped, "num_skipped": len(skipped),
                  "seconds": round(time.time() - started, 1), "lexmotion_version": __version__}
        write_json(tmp / REPORT_FILE, report)
        mark_folder(tmp, "dataset")
        replace_folder(tmp, out)
        return report
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


class MotionDataset:
    """A built dataset folder: rows, skeletons and normalisation statistics."""

    def __init__(self, path: str | Path):
        import datasets
        self.path = Path(path)
        if not self.path.exists():
            raise LexmotionError(f"{self.path}: no such dataset folder")
        meta_file = self.path / META_FILE
        if not meta_file.is_file():
            raise LexmotionError(f"{self.path}: not a lexmotion dataset (no {META_FILE}; build one with `lexmotion data build`)")
        self.meta = json.loads(meta_file.read_text())
        self.skeletons = {n: Skeleton.from_dict(d) for n, d in self.meta["skeletons"].items()}
        self.stats = json.loads((self.path / STATS_FILE).read_text())
        try:
            self.table = datasets.load_from_disk(str(self.path))
        except (FileNotFoundError, ValueError) as err:
            raise LexmotionError(f"{self.path}: cannot open the Arrow dataset ({err})") from None
        self._numpy_view = self.table.with_format("numpy")

    def __len__(self) -> int:
        return len(self.table)

    def skeleton(self, name: str) -> Skeleton:
        return get_skeleton(name, self.skeletons)

    def split_indices(self, split: str | None) -> list[int]:
        if split in (None, "all"):
            return list(range(len(self.table)))
        idx = [i for i, s in enumerate(self.table["split"]) if s == split]
        if not idx:
            have = ", ".join(sorted(set(self.table["split"])))
            raise LexmotionError(f"{self.path}: no clip in split {split!r} (splits: {have}; `--split all` takes every clip)")
        return idx

    def text_sources(self) -> list[list[str]]:
        """Each row's caption sources (parallel to texts); datasets built before the column: the row's
        caption_source for each caption."""
        if "text_sources" in self.table.column_names:
            return [list(s) for s in self.table["text_sources"]]
        return [[source] * len(texts) for texts, source in zip(self.table["texts"], self.table["caption_source"])]

    def row(self, index: int) -> dict:
        row = self._numpy_view[index]
        row["texts"] = list(row["texts"])
        row["meta"] = json.loads(row["meta"])
        return row

    def clip(self, clip_id: str) -> dict:
        """The clip CLIP_ID as a motion file reads (``read_motion_file``): {joints, fps, skeleton, source}."""
        row = self.row(self.find(clip_id))
        return {"joints": row["joints"], "fps": float(row["fps"]), "skeleton": self.skeleton(row["skeleton"]),
                "source": f"{self.path}:{clip_id}"}

    def metas(self) -> list[dict]:
        """Every row's ``meta`` (parsed JSON), read from its column alone (no joints)."""
        return [json.loads(m) for m in self.table["meta"]]

    def find(self, clip_id: str) -> int:
        ids = self.table["id"]
        try:
            return ids.index(clip_id)
        except ValueError:
            close = [i for i in ids if clip_id in i][:5]
            hint = f"; similar ids: {', '.join(close)}" if close else ""
            raise LexmotionError(f"{self.path}: no clip with id {clip_id!r}{hint}") from None


_STOPWORDS = frozenset(
    "a an the and or but of to in on at with by for from as is are was were be been it its his her "
    "their them they he she someone person human man woman then while this that up down".split())


def dataset_info(path: str | Path, top_words: int = 20) -> dict:
    """Clips and captions per split, frame/duration statistics, frequent caption words."""
    ds = MotionDataset(path)
    t = ds.table
    frames = np.asarray(t["num_frames"], dtype=float)
    fps = np.asarray(t["fps"], dtype=float)
    seconds = (frames - 1) / fps
    split_column, text_column = list(t["split"]), list(t["texts"])
    splits = {}
    for split, count in sorted(Counter(split_column).items()):
        idx = [i for i, s in enumerate(split_column) if s == split]
        splits[split] = {"clips": count, "captions": int(sum(len(text_column[i]) for i in idx)),
                         "seconds": round(float(seconds[idx].sum()), 1)}
    words = Counter(w for texts in text_column for text in texts
                    for w in "".join(ch if ch.isalpha() else " " for ch in text.lower()).split()
                    if w not in _STOPWORDS)

    def summary(x):
        return {"min": round(float(x.min()), 2), "median": round(float(np.median(x)), 2),
                "mean": round(float(x.mean()), 2), "max": round(float(x.max()), 2)}

    return {"path": str(ds.path), "source": ds.meta.get("source"), "clips": len(t),
            "captions": int(sum(len(x) for x in text_column)), "splits": splits,
            "skeletons": dict(Counter(t["skeleton"])), "fps": dict(Counter(map(float, fps))),
            "caption_source": dict(Counter(t["caption_source"])),
            "captions_by_source": dict(Counter(src for sources in ds.text_sources() for src in sources)),
            "frames": summary(frames), "duration_seconds": summary(seconds),
            "total_hours": round(float(seconds.sum()) / 3600, 3),
            "top_words": words.most_common(top_words),
            "top_words_note": "stop words and subjects removed"}


def format_info(info: dict) -> str:
    lines = [f"{info['path']}  (source: {info['source']})",
             f"clips {info['clips']}, captions {info['captions']}, {info['total_hours']} h, "
             f"skeletons {info['skeletons']}, caption source {info['caption_source']}",
             f"captions by source {info['captions_by_source']}", "",
             f"{'split':<12}{'clips':>8}{'captions':>10}{'seconds':>10}"]
    for split, s in info["splits"].items():
        lines.append(f"{split:<12}{s['clips']:>8}{s['captions']:>10}{s['seconds']:>10}")
    f, d = info["frames"], info["duration_seconds"]
    lines += ["", f"frames (source fps): min {f['min']:g}, median {f['median']:g}, mean {f['mean']:g}, max {f['max']:g}",
              f"duration (s): min {d['min']:g}, median {d['median']:g}, mean {d['mean']:g}, max {d['max']:g}",
              f"fps: {info['fps']}", "",
              "top caption words (" + info["top_words_note"] + "): "
              + ", ".join(f"{w} {n}" for w, n in info["top_words"])]
    return "\n".join(lines)

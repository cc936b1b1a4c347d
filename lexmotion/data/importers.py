"""Importers: each turns one source into clip records, and reports what it skips.

A record is a dict with the built dataset's columns: id, joints (T, J, 3)
float32 metres y-up at the source fps, fps, skeleton, texts, split,
caption_source ("human" or "label"), num_frames and meta (a JSON string).
An importer yields records, and ``Skipped(item, reason)`` for each bad item,
so a build never stops halfway over one bad clip.
"""
from __future__ import annotations

import io
import json
import random
import re
import tarfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lexmotion.data.bvh import read_bvh
from lexmotion.data.features import check_joints
from lexmotion.data.limits import DEFAULT_LIMITS
from lexmotion.data.skeletons import (
    HUMANML3D,
    KITML_CMU,
    KITML_MMM,
    Skeleton,
    skeleton_from_names,
)
from lexmotion.errors import LexmotionError
from lexmotion.files import load_npy

SOURCES = ("kitml-cmu", "bandai", "guo", "bvh")


@dataclass
class Skipped:
    item: str
    reason: str


# Where a caption came from (the text_sources column), by importer; the kitml-cmu layout says per folder.
TEXT_SOURCES = {"kitml-cmu": "kitml", "cmu-extra": "cmu-description", "bandai": "label", "guo": "human", "bvh": "human"}


def _record(id, joints, fps, skeleton, texts, split, caption_source, meta=None, text_sources=None) -> dict:
    """One row. ``text_sources``: each caption's source (default: ``caption_source`` for all)."""
    sources = list(text_sources) if text_sources is not None else [caption_source] * len(texts)
    kept = [(t.strip(), src) for t, src in zip(texts, sources) if t.strip()]
    return {"id": str(id), "joints": joints, "fps": float(fps), "skeleton": skeleton.name,
            "texts": [t for t, _ in kept], "text_sources": [src for _, src in kept], "split": split,
            "caption_source": caption_source, "num_frames": int(joints.shape[0]),
            "meta": json.dumps(meta or {}, sort_keys=True)}


def _require_dir(root: Path, what: str) -> Path:
    root = Path(root)
    if not root.exists():
        raise LexmotionError(f"{root}: no such file or folder ({what})")
    return root


# --- kitml-cmu -------------------------------------------------------------------

def _annotation(line: str) -> dict:
    """One annotations.jsonl line, checked: id and split are names, texts strings, fps a positive number."""
    row = json.loads(line)           # json.JSONDecodeError is a ValueError
    if not isinstance(row, dict):
        raise ValueError("not a JSON object")
    clip_id = row.get("id")
    if not isinstance(clip_id, str) or not clip_id or "/" in clip_id or clip_id.startswith("."):
        raise ValueError(f"id {clip_id!r} is not a clip name")
    texts = row.get("texts")
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise ValueError("texts must be a list of strings")
    fps = row.get("fps")
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps < 10_000:
        raise ValueError(f"fps {fps!r} is not a positive frame rate")
    if not isinstance(row.get("split", "train"), str):
        raise ValueError("split must be a name")
    return row


class _KitmlFiles:
    """The kitml-cmu layout (annotations.jsonl, joints/<id>.npy, skeleton.json, descriptions.tsv for
    cmu-extra) in a folder, or in a .tar / .tar.xz / .tar.gz holding one such folder (read once, into memory)."""

    def __init__(self, root: Path):
        self.root = _require_dir(root, "kitml-cmu folder or archive")
        self.files: dict[str, bytes] | None = None
        if self.root.is_file():
            self.files = self._read_archive(self.root)

    @staticmethod
    def _read_archive(path: Path) -> dict[str, bytes]:
        try:
            with tarfile.open(path) as tar:
                members = [m for m in tar if m.isfile()]
                tops = {m.name.split("/")[0] for m in members}
                prefix = f"{tops.pop()}/" if len(tops) == 1 and all("/" in m.name for m in members) else ""
                wanted = [m for m in members if m.name.startswith(prefix) and (
                    m.name[len(prefix):] in ("annotations.jsonl", "skeleton.json", "descriptions.tsv")
                    or (m.name[len(prefix):].startswith("joints/") and m.name.endswith(".npy")))]
                files = {m.name[len(prefix):]: tar.extractfile(m).read() for m in wanted}
        except (tarfile.TarError, OSError, EOFError) as err:
            reason = str(err).splitlines()[-1].strip(" -") if str(err) else type(err).__name__
            raise LexmotionError(f"{path}: not a readable archive, or it ends early ({reason})") from None
        if "annotations.jsonl" not in files or not any(n.startswith("joints/") for n in files):
            raise LexmotionError(f"{path}: not in the kitml-cmu / cmu-extra layout (one folder holding "
                                 "annotations.jsonl and joints/<id>.npy)")
        return files

    def name(self, rel: str) -> str:
        return f"{self.root}:{rel}" if self.files is not None else str(self.root / rel)

    def exists(self, rel: str) -> bool:
        return rel in self.files if self.files is not None else (self.root / rel).is_file()

    def text(self, rel: str) -> str:
        data = self.files[rel] if self.files is not None else (self.root / rel).read_bytes()
        return data.decode("utf-8", errors="replace")

    def joints(self, clip_id: str) -> np.ndarray:
        rel = f"joints/{clip_id}.npy"
        if not self.exists(rel):
            raise LexmotionError(f"{self.name(rel)}: missing joints file")
        if self.files is None:
            return load_npy(self.root / rel)
        from lexmotion.data.motion_file import npy_shape
        npy_shape(self.files[rel], self.name(rel))        # the header checked against the bytes first
        return np.load(io.BytesIO(self.files[rel]), allow_pickle=False)


# a lower-case letter then a capitalised word: CMU's run-together names ("JogThrough"), which WordPiece would cut
# into pieces of no word (jo ##gt ##hr ##ough); "fancY" stays
_RUN_TOGETHER = re.compile(r"(?<=[a-z])(?=[A-Z][a-z])")
_CMU_TAG = re.compile(r"\s*\bCleanedGRS\b")            # a processing tag of CMU's, not part of the description


def readable_description(text: str) -> str:
    """CMU's description with its words apart: "OffensiveMoveSpinLeft  CleanedGRS" -> "Offensive Move Spin Left"."""
    return " ".join(_RUN_TOGETHER.sub(" ", _CMU_TAG.sub("", text)).split())


def extra_captions(path: str | Path) -> dict[str, str]:
    """descriptions.tsv (trial, description, ...; a header line), or the cmu-extra archive holding it,
    -> {cmu_trial: description}."""
    path = Path(path)
    if not path.is_file():
        raise LexmotionError(f"{path}: no such captions file (--extra-captions takes cmu-extra's descriptions.tsv "
                             "or its archive)")
    if tarfile.is_tarfile(path):
        files = _KitmlFiles(path)
        if not files.exists("descriptions.tsv"):
            raise LexmotionError(f"{path}: the archive holds no descriptions.tsv")
        lines = files.text("descriptions.tsv").splitlines()
    else:
        lines = path.read_text(errors="replace").splitlines()
    if not lines or not lines[0].lower().startswith("trial\tdescription"):
        raise LexmotionError(f"{path}: not a descriptions file (its first line must be trial<TAB>description...)")
    read = ((parts[0], readable_description(parts[1])) for parts in (line.split("\t") for line in lines[1:])
            if len(parts) >= 2)
    return {trial: text for trial, text in read if text}


def import_kitml_cmu(root: Path, skeletons: dict[str, Skeleton],
                     extra: dict[str, str] | None = None) -> Iterator[dict | Skipped]:
    """The kitml-cmu layout, as a folder or an archive: joints/<id>.npy, annotations.jsonl, skeleton.json.
    Captions are KIT-ML's, or CMU's descriptions where the folder holds descriptions.tsv (cmu-extra).
    ``extra``: {cmu_trial: description} added to each clip as a caption of source cmu-description."""
    files = _KitmlFiles(root)
    if not files.exists("annotations.jsonl"):
        raise LexmotionError(f"{files.name('annotations.jsonl')}: missing caption file (kitml-cmu needs annotations.jsonl)")
    if files.exists("skeleton.json"):
        if tuple(json.loads(files.text("skeleton.json"))["names"]) != KITML_CMU.joints:
            raise LexmotionError(f"{files.name('skeleton.json')}: joint names differ from the registered kitml-cmu skeleton")
    skeletons[KITML_CMU.name] = KITML_CMU
    source = TEXT_SOURCES["cmu-extra" if files.exists("descriptions.tsv") else "kitml-cmu"]
    ann = files.name("annotations.jsonl")
    for line_no, line in enumerate(files.text("annotations.jsonl").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = _annotation(line)
        except ValueError as err:
            yield Skipped(f"{ann}:{line_no}", f"bad annotation line ({err})")
            continue
        clip_id = row["id"]
        where = files.name(f"joints/{clip_id}.npy")
        try:
            joints = check_joints(files.joints(clip_id), where, KITML_CMU)
            DEFAULT_LIMITS.check_clip(len(joints), row["fps"], joints.shape[1], where)    # before resampling
        except LexmotionError as err:
            yield Skipped(where, str(err))
            continue
        texts = [readable_description(t) if source == TEXT_SOURCES["cmu-extra"] else t for t in row["texts"]]
        if not [t for t in texts if t.strip()]:
            yield Skipped(where, "no caption in annotations.jsonl")
            continue
        sources = [source] * len(texts)
        more = (extra or {}).get(row.get("cmu_trial", clip_id), "")
        if more and more not in texts:
            texts.append(more)
            sources.append(TEXT_SOURCES["cmu-extra"])
        meta = {k: row[k] for k in ("cmu_trial", "same_motion_as", "temos_split") if k in row}
        yield _record(clip_id, joints, row["fps"], KITML_CMU, texts, row.get("split", "train"), "human", meta,
                      text_sources=sources)


# --- Bandai Namco Research Motiondataset 1 and 2 -----------------------------------

SUBJECTS = ("a person", "someone", "a human", "the person")
CONTENT_PHRASES = {
    # dataset 2
    "walk": ("walks", "walks forward", "is walking"),
    "walk-turn-left": ("walks and turns left", "walks forward, then turns to the left", "turns left while walking"),
    "walk-turn-right": ("walks and turns right", "walks forward, then turns to the right", "turns right while walking"),
    "run": ("runs", "runs forward", "is running"),
    "wave-left-hand": ("waves the left hand", "waves with the left hand", "raises the left hand and waves"),
    "wave-right-hand": ("waves the right hand", "waves with the right hand", "raises the right hand and waves"),
    "wave-both-hands": ("waves both hands", "waves with both hands", "waves both arms"),
    "raise-up-left-hand": ("raises the left hand", "lifts the left hand up", "puts the left hand up"),
    "raise-up-right-hand": ("raises the right hand", "lifts the right hand up", "puts the right hand up"),
    "raise-up-both-hands": ("raises both hands", "lifts both hands up", "puts both arms up"),
    # dataset 1
    "bow": ("bows", "bows forward", "takes a bow"),
    "bye": ("waves goodbye", "says goodbye with a wave", "waves a hand to say bye"),
    "byebye": ("waves goodbye with both hands", "waves bye bye", "says goodbye waving"),
    "call": ("calls someone over", "beckons someone to come", "gestures for someone to come"),
    "dance": ("dances", "is dancing", "does a dance"),
    "dash": ("dashes", "sprints forward", "runs fast"),
    "guide": ("guides someone the way", "points the way", "shows someone where to go"),
    "kick": ("kicks", "kicks with a leg", "does a kick"),
    "punch": ("punches", "throws a punch", "punches forward"),
    "respond": ("responds to someone", "answers with a gesture", "reacts to someone"),
    "slash": ("slashes", "makes a slashing move", "swings an arm to slash"),
    "walk-back": ("walks backwards", "walks back", "steps backwards"),
    "walk-left": ("walks to the left", "walks leftwards", "walks sideways to the left"),
    "walk-right": ("walks to the right", "walks rightwards", "walks sideways to the right"),
}
STYLE_PHRASES = {
    "active": ("actively", "in an active way", "energetically"),
    "elderly": ("like an elderly person", "in an elderly way", "like an old person"),
    "old": ("like an old person", "in an old way", "like an elderly person"),
    "exhausted": ("in an exhausted way", "wearily", "as if exhausted"),
    "tired": ("in a tired way", "wearily", "as if tired"),
    "feminine": ("in a feminine way", "femininely", "with a feminine style"),
    "masculine": ("in a masculine way", "masculinely", "with a masculine style"),
    "normal": ("", "normally", "in a normal way"),
    "youthful": ("in a youthful way", "youthfully", "with youthful energy"),
    "childish": ("in a childish way", "like a child", "childishly"),
    "angry": ("angrily", "in an angry way", "as if angry"),
    "happy": ("happily", "in a happy way", "cheerfully"),
    "sad": ("sadly", "in a sad way", "as if sad"),
    "proud": ("proudly", "in a proud way", "with pride"),
    "not-confident": ("without confidence", "in an unconfident way", "timidly"),
    "giant": ("like a giant", "in a giant's heavy way", "heavily like a giant"),
    "musical": ("in a musical way", "like in a musical", "theatrically"),
    "chimpira": ("like a thug", "in a thuggish way", "like a street punk"),
}


def _phrases(table: dict, label: str, fallback: str) -> tuple[str, ...]:
    return table.get(label) or (fallback.format(label.replace("-", " ")),)


def bandai_captions(content: str, style: str, key: str, n: int = 3) -> list[str]:
    """``n`` label-derived paraphrases, chosen deterministically from ``key``."""
    contents = _phrases(CONTENT_PHRASES, content, "does {}")
    styles = _phrases(STYLE_PHRASES, style, "in a {} way")
    combos = [(s, c, st) for s in SUBJECTS for c in contents for st in styles]
    rng = random.Random(zlib.crc32(key.encode()))
    rng.shuffle(combos)
    out = []
    for subject, verb, adverb in combos:
        text = " ".join(w for w in (subject, verb, adverb) if w) + "."
        text = text[0].upper() + text[1:]
        if text not in out:
            out.append(text)
        if len(out) == n:
            break
    return out


def bandai_splits(take_counts: dict[str, int], fractions=(("train", 0.8), ("val", 0.1), ("test", 0.1))) -> dict[str, str]:
    """Deterministic ~80/10/10 split of clips by take number, so no take is in two splits.

    Takes are visited in a fixed pseudo-random order (crc32 of the take) and each
    goes to the split furthest below its share of the clips assigned so far.
    """
    counts = {name: 0 for name, _ in fractions}
    out = {}
    for take in sorted(take_counts, key=lambda t: (zlib.crc32(t.encode()), t)):
        total = sum(counts.values()) + take_counts[take]
        split = max(fractions, key=lambda f: f[1] * total - counts[f[0]])[0]
        counts[split] += take_counts[take]
        out[take] = split
    return out


def _parse_bandai_name(stem: str, contents: list[str], styles: list[str]) -> tuple[str, str, str]:
    """dataset-2_walk-turn-left_normal_001 -> ("walk-turn-left", "normal", "001")."""
    prefix, _, rest = stem.partition("_")
    body, _, take = rest.rpartition("_")
    for style in sorted(styles, key=len, reverse=True):
        if body.endswith("_" + style) and body[: -len(style) - 1] in contents:
            return body[: -len(style) - 1], style, take
    raise LexmotionError(f"{stem}: name does not match {prefix}_{{content}}_{{style}}_{{nnn}} with the cfg/ labels")


class _Folder:
    """Uniform access to a folder or a .tar(.gz) holding one.

    A compressed tarball is only ever read front to back (random access into a
    gzip stream re-decompresses it each time): small files are kept in memory on
    a first pass, large ones are streamed in archive order by ``iter_files``.
    """

    def __init__(self, root: Path, keep_suffixes: tuple[str, ...] = ()):
        self.root, self.is_tar, self.small, self.names = root, root.is_file(), {}, []
        if self.is_tar:
            try:
                with tarfile.open(root) as tar:
                    for member in tar:
                        if member.isfile():
                            self.names.append(member.name)
                        if member.isfile() and member.name.endswith(keep_suffixes):
                            self.small[member.name] = tar.extractfile(member).read().decode("utf-8", "replace")
            except (tarfile.TarError, OSError, EOFError) as err:
                raise LexmotionError(f"{root}: not a readable tar archive ({err})") from None

    def find(self, suffix: str) -> list[str]:
        if self.is_tar:
            return sorted(n for n in self.names if n.endswith(suffix))
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*" + suffix))

    def read(self, name: str) -> str:
        if self.is_tar:
            if name not in self.small:
                raise LexmotionError(f"{self.root}: {name} is not kept in memory")
            return self.small[name]
        return (self.root / name).read_text(errors="replace")

    def exists(self, name: str) -> bool:
        return name in self.small if self.is_tar else (self.root / name).is_file()

    def iter_files(self, suffix: str) -> Iterator[tuple[str, str | Exception]]:
        """(name, text) for every file ending in ``suffix``; text is the error if unreadable."""
        if not self.is_tar:
            for name in self.find(suffix):
                try:
                    yield name, self.read(name)
                except OSError as err:
                    yield name, err
            return
        try:
            with tarfile.open(self.root) as tar:
                for member in tar:
                    if member.isfile() and member.name.endswith(suffix):
                        yield member.name, tar.extractfile(member).read().decode("utf-8", "replace")
        except (tarfile.TarError, OSError, EOFError) as err:
            yield f"{self.root} (archive)", LexmotionError(f"{self.root}: archive ends early or is corrupt ({err})")


def import_bandai(root: Path, skeletons: dict[str, Skeleton], captions_per_clip: int = 3) -> Iterator[dict | Skipped]:
    """A Bandai Namco Research Motiondataset (1 or 2): tarball or unpacked folder."""
    folder = _Folder(_require_dir(root, "Bandai tarball or folder"), keep_suffixes=(".txt", ".json"))
    labels = {}
    for kind in ("content", "style"):
        found = folder.find(f"cfg/{kind}_label.txt")
        if not found:
            raise LexmotionError(f"{root}: missing cfg/{kind}_label.txt (is this a Bandai Namco Motiondataset?)")
        # Lines read "dataset-2_walk-turn-left": the dataset prefix is dropped.
        labels[kind] = [line.strip().split("_", 1)[-1] for line in folder.read(found[0]).splitlines()
                        if line.strip()]
    takes = Counter(Path(n).stem.rpartition("_")[2] for n in folder.find(".bvh"))
    split_of_take = bandai_splits(takes)
    for name, text in folder.iter_files(".bvh"):
        stem = Path(name).stem
        source = f"{root}:{name}" if folder.is_tar else str(folder.root / name)
        try:
            if isinstance(text, Exception):
                raise LexmotionError(str(text))
            content, style, take = _parse_bandai_name(stem, labels["content"], labels["style"])
            label_file = name[:-4] + ".json"
            if folder.exists(label_file):
                ids = json.loads(folder.read(label_file))
                if (labels["content"][ids["content"]], labels["style"][ids["style"]]) != (content, style):
                    raise LexmotionError(f"{label_file}: labels disagree with the file name")
            bvh, joints = read_bvh(source, text=text)
            skeleton = skeleton_from_names(bvh.joints, bvh.parents, source=source)
            joints = check_joints(joints, source, skeleton)
        except (LexmotionError, KeyError, IndexError, ValueError) as err:
            yield Skipped(source, str(err))
            continue
        skeletons[skeleton.name] = skeleton
        texts = bandai_captions(content, style, stem, captions_per_clip)
        yield _record(stem, joints, bvh.fps, skeleton, texts, split_of_take[take], "label",
                      {"content": content, "style": style, "take": take, "dataset": stem.split("_")[0]})


# --- Guo layout (HumanML3D / KIT-ML) ------------------------------------------------

def _guo_texts(path: Path) -> list[tuple[str, float, float]]:
    """texts/<id>.txt lines ``caption#tokens#start#end`` -> (caption, start, end)."""
    out = []
    for line in path.read_text(errors="replace").splitlines():
        fields = line.strip().split("#")
        if not fields[0].strip():
            continue
        start = end = 0.0
        if len(fields) >= 4:
            try:
                start, end = float(fields[2] or 0), float(fields[3] or 0)
            except ValueError:
                start = end = 0.0
        out.append((fields[0].strip(), 0.0 if np.isnan(start) else start, 0.0 if np.isnan(end) else end))
    return out


def import_guo(root: Path, skeletons: dict[str, Skeleton], skeleton: str | None = None,
               fps: float | None = None) -> Iterator[dict | Skipped]:
    """new_joints/<id>.npy, texts/<id>.txt and train/val/test.txt split files.

    HumanML3D (22 joints, 20 fps) and KIT-ML (21 joints, 12.5 fps) are told apart
    by the joint count unless ``skeleton`` is given. A caption with its own
    start/end times becomes its own clip ``<id>#<start>#<end>``, as in HumanML3D.
    """
    root = _require_dir(root, "Guo-layout folder")
    joint_dir = root / "new_joints"
    if not joint_dir.is_dir():
        raise LexmotionError(f"{joint_dir}: missing (the Guo layout keeps joints in new_joints/*.npy)")
    text_dir = root / "texts"
    if not text_dir.is_dir():
        raise LexmotionError(f"{text_dir}: missing caption folder (the Guo layout keeps captions in texts/*.txt)")
    split_of = {}
    for split in ("train", "val", "test"):
        split_file = root / f"{split}.txt"
        if split_file.is_file():
            for line in split_file.read_text().split():
                split_of.setdefault(line.strip(), split)
    if not split_of:
        raise LexmotionError(f"{root}: no train.txt, val.txt or test.txt split file")
    for path in sorted(joint_dir.glob("*.npy")):
        clip_id = path.stem
        try:
            joints = load_npy(path)
            skel = (HUMANML3D if joints.shape[1:2] == (22,) else KITML_MMM) if skeleton is None else \
                {"humanml3d": HUMANML3D, "kitml-mmm": KITML_MMM}[skeleton]
            joints = check_joints(joints, str(path), skel)
            DEFAULT_LIMITS.check_clip(len(joints), fps or (20.0 if skel is HUMANML3D else 12.5), joints.shape[1], str(path))
            text_file = text_dir / f"{clip_id}.txt"
            if not text_file.is_file():
                raise LexmotionError(f"{text_file}: missing caption file")
            captions = _guo_texts(text_file)
            if not captions:
                raise LexmotionError(f"{text_file}: no caption in the file")
        except (LexmotionError, ValueError, OSError, IndexError) as err:
            yield Skipped(str(path), str(err))
            continue
        skeletons[skel.name] = skel
        clip_fps = fps or (20.0 if skel is HUMANML3D else 12.5)
        split = split_of.get(clip_id, "unassigned")
        whole = [c for c, s, e in captions if s == 0.0 and e == 0.0]
        if whole:
            yield _record(clip_id, joints, clip_fps, skel, whole, split, "human", {"file": path.name})
        for caption, start, end in captions:
            if start == 0.0 and end == 0.0:
                continue
            segment = joints[int(start * clip_fps):int(end * clip_fps)]
            seg_id = f"{clip_id}#{start:g}#{end:g}"
            if len(segment) < 2:
                yield Skipped(f"{text_file}:{seg_id}", f"segment {start:g}-{end:g}s has {len(segment)} frame(s)")
                continue
            yield _record(seg_id, segment, clip_fps, skel, [caption], split, "human",
                          {"file": path.name, "start": start, "end": end})


# --- any folder of BVH files ------------------------------------------------------------

def import_bvh_folder(root: Path, skeletons: dict[str, Skeleton], captions: Path | None = None,
                      scale: float | None = None, up_axis: str = "y") -> Iterator[dict | Skipped]:
    """Every *.bvh under ``root``; captions from ``captions.jsonl`` if present.

    Each line: {"file": path relative to root (or file name), "texts": [...], "split": optional, default train}.

    The skeleton is recognised from its joint names. Clips without captions are
    kept with an empty caption list (usable for motion-only phases and indexing).
    """
    root = _require_dir(root, "BVH folder")
    files = [root] if root.is_file() else sorted(root.rglob("*.bvh"))
    if not files:
        raise LexmotionError(f"{root}: no .bvh files found")
    base = root.parent if root.is_file() else root
    caption_file = Path(captions) if captions else base / "captions.jsonl"
    if captions and not caption_file.is_file():
        raise LexmotionError(f"{caption_file}: missing caption file")
    texts_of: dict[str, list[str]] = {}
    split_of: dict[str, str] = {}
    if caption_file.is_file():
        for line_no, line in enumerate(caption_file.read_text().splitlines(), 1):
            if line.strip():
                try:
                    row = json.loads(line)
                    texts_of[row["file"]] = list(row["texts"])
                    split_of[row["file"]] = str(row.get("split", "train"))
                except (json.JSONDecodeError, KeyError, TypeError) as err:
                    raise LexmotionError(f"{caption_file}:{line_no}: bad line ({err})") from None
    for path in files:
        rel = str(path.relative_to(base)) if path != base else path.name
        try:
            bvh, joints = read_bvh(path, scale=scale, up_axis=up_axis)
            skeleton = skeleton_from_names(bvh.joints, bvh.parents, source=str(path))
            joints = check_joints(joints, str(path), skeleton)
        except LexmotionError as err:
            yield Skipped(str(path), str(err))
            continue
        skeletons[skeleton.name] = skeleton
        key = rel if rel in texts_of else path.name
        texts = texts_of.get(key, [])
        yield _record(Path(rel).with_suffix("").as_posix(), joints, bvh.fps, skeleton, texts, split_of.get(key, "train"),
                      "human" if texts else "none", {"file": rel, "scale": bvh.scale})

"""Motion features: validation, resampling to 20 fps, per-part features, mirroring.

Per-part features (the guided-attention paper's encoder input), on the 17
canonical joints after the clip is turned to face +z at its first frame with
the pelvis above the origin:
- root: pelvis x, y, z and heading (cos, sin) relative to the first frame,
  then their velocities (x, y, z per second, heading in rad/s): 9 values;
- torso, arms, legs: joint positions relative to the pelvis, then their
  velocities (metres per second): 6 values per joint.
``FEATURE_LAYOUT`` gives each part's (start, stop) columns.

These are the features in the clip's first-frame frame ("first"). ``body_frame`` turns them into the
body's own frame at each frame ("body"), which a checkpoint's statistics name (``frame_of``).
``crop_frame`` reads a slice of them as a clip of its own (a window of a take, as if uploaded alone).
"""
from __future__ import annotations

import re

import numpy as np

from lexmotion.data.skeletons import CANONICAL_JOINTS, CANONICAL_PARTS, PARTS, Skeleton
from lexmotion.errors import LexmotionError

WORKING_FPS = 20.0
FRAMES = ("first", "body")           # the frames features can be read in (body_frame)
CROP_FRAMES = ("clip", "own")        # the frames a crop of a longer clip can be read in (crops_of)
MIN_FRAMES = 2
_ROOT_DIMS = 9


def _layout() -> dict[str, tuple[int, int]]:
    layout, start = {}, 0
    for part in PARTS:
        width = _ROOT_DIMS if part == "root" else 6 * len(CANONICAL_PARTS[part])
        layout[part] = (start, start + width)
        start += width
    return layout


FEATURE_LAYOUT = _layout()
FEATURE_DIM = max(stop for _, stop in FEATURE_LAYOUT.values())


def check_joints(joints: np.ndarray, source: str, skeleton: Skeleton | None = None) -> np.ndarray:
    """Validate a (T, J, 3) clip; return it as float32. Raises LexmotionError naming ``source``."""
    joints = np.asarray(joints)
    if joints.dtype == bool or not np.issubdtype(joints.dtype, np.number) or np.iscomplexobj(joints):
        raise LexmotionError(f"{source}: joints must be real numbers, not {joints.dtype}")
    if joints.ndim != 3 or joints.shape[-1] != 3:
        raise LexmotionError(f"{source}: joints must have shape (frames, joints, 3), got {joints.shape}")
    if joints.shape[0] < MIN_FRAMES:
        raise LexmotionError(f"{source}: {joints.shape[0]} frame(s); a clip needs at least {MIN_FRAMES}")
    if skeleton is not None and joints.shape[1] != skeleton.num_joints:
        raise LexmotionError(
            f"{source}: {joints.shape[1]} joints, but skeleton {skeleton.name} has {skeleton.num_joints}")
    finite = np.isfinite(joints).all(axis=(1, 2))
    if not finite.all():
        bad = np.where(~finite)[0]
        raise LexmotionError(f"{source}: {len(bad)} frame(s) with NaN or infinite values (first: frame {bad[0]})")
    return joints.astype(np.float32, copy=False)


def resample(joints: np.ndarray, fps: float, target_fps: float = WORKING_FPS) -> np.ndarray:
    """Linear resampling along time; keeps the clip's duration (first to last frame)."""
    if fps <= 0:
        raise LexmotionError(f"fps must be positive, got {fps}")
    if abs(fps - target_fps) < 1e-6:
        return joints
    n_in = joints.shape[0]
    duration = (n_in - 1) / fps
    n_out = max(int(np.floor(duration * target_fps + 1e-6)) + 1, 2)
    src = np.minimum(np.arange(n_out) * fps / target_fps, n_in - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    w = (src - lo)[:, None, None]
    return ((1 - w) * joints[lo] + w * joints[hi]).astype(np.float32)


def to_canonical(joints: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """(T, J, 3) in the skeleton's joints -> (T, 17, 3) canonical joints."""
    return joints[:, skeleton.canonical_indices()]


_C = {name: i for i, name in enumerate(CANONICAL_JOINTS)}


def heading(canonical: np.ndarray) -> np.ndarray:
    """(T,) facing angle about y (0 = facing +z), from the hips and shoulders."""
    across = (canonical[:, _C["l_hip"]] - canonical[:, _C["r_hip"]]
              + canonical[:, _C["l_shoulder"]] - canonical[:, _C["r_shoulder"]])
    forward = np.cross(across, np.array([0.0, 1.0, 0.0]))   # left x up = forward
    return np.arctan2(forward[:, 0], forward[:, 2])


def face_forward(canonical: np.ndarray) -> np.ndarray:
    """Translate the first frame's pelvis to x=z=0 and turn the clip to face +z."""
    angle = heading(canonical[:1])[0]
    c, s = np.cos(-angle), np.sin(-angle)
    rot = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    origin = canonical[0, _C["pelvis"]] * np.array([1.0, 0.0, 1.0])
    return (canonical - origin) @ rot.T


def _velocity(x: np.ndarray, fps: float) -> np.ndarray:
    v = np.diff(x, axis=0, prepend=x[:1]) * fps
    v[0] = v[1] if len(x) > 1 else 0.0
    return v


def part_features(joints: np.ndarray, fps: float, skeleton: Skeleton) -> np.ndarray:
    """(T, J, 3) clip at ``fps`` -> (T', FEATURE_DIM) float32 features at 20 fps."""
    clip = resample(joints.astype(np.float64), fps)
    canon = face_forward(to_canonical(clip, skeleton))            # (T, 17, 3)
    pelvis = canon[:, _C["pelvis"]]                                # (T, 3)
    angle = np.unwrap(heading(canon))
    angle = angle - angle[0]
    root_pos = np.concatenate([pelvis, np.cos(angle)[:, None], np.sin(angle)[:, None]], axis=1)
    root_vel = np.concatenate([_velocity(pelvis, WORKING_FPS), _velocity(angle[:, None], WORKING_FPS)], axis=1)
    columns = [root_pos, root_vel]
    for part in PARTS[1:]:
        idx = [_C[j] for j in CANONICAL_PARTS[part]]
        rel = canon[:, idx] - pelvis[:, None]                      # (T, n, 3)
        columns += [rel.reshape(len(rel), -1), _velocity(rel, WORKING_FPS).reshape(len(rel), -1)]
    return np.concatenate(columns, axis=1).astype(np.float32)


def frame_of(stats: dict | None) -> str:
    """The frame a set of normalisation statistics reads features in: "first" unless they say "body"."""
    return (stats or {}).get("frame", "first")


def crops_of(stats: dict | None) -> str:
    """How a crop of a longer clip is read under a set of statistics: "own" (``crop_frame``, as a clip of its
    own) where they say so, else "clip" (in the whole clip's first-frame frame, as every earlier version)."""
    return (stats or {}).get("crops", "clip")


def with_crops(stats: dict, crops: str) -> dict:
    """A copy of STATS that reads crops as CROPS says ("clip" or "own", ``crops_of``)."""
    if crops not in CROP_FRAMES:
        raise LexmotionError(f"a crop is read in one of {', '.join(CROP_FRAMES)}, not {crops!r}")
    out = {k: v for k, v in stats.items() if k != "crops"}
    return {**out, "crops": crops} if crops != "clip" else out


def body_frame(features: np.ndarray) -> np.ndarray:
    """Part features (``part_features``, not normalised) -> the same quantities in the body's own frame
    at each frame: every (x, y, z) of a joint and of the pelvis velocity turned about y by minus that
    frame's heading, so a walk reads the same whichever way the body faces. The pelvis position across
    the floor and the heading relative to the first frame (which depend on where a crop starts) become 0;
    height, the heading rate and the columns' layout stay. Commutes with ``mirror_features``."""
    f = np.array(features, dtype=np.float32)
    root = FEATURE_LAYOUT["root"][0]
    c, s = f[:, root + 3:root + 4], f[:, root + 4:root + 5]         # cos and sin of the heading
    vectors = np.concatenate([f[:, None, root + 5:root + 8],
                              f[:, root + _ROOT_DIMS:].reshape(len(f), -1, 3)], axis=1)     # (T, n, 3)
    x, z = vectors[..., 0].copy(), vectors[..., 2].copy()
    vectors[..., 0], vectors[..., 2] = c * x - s * z, s * x + c * z
    f[:, root + 5:root + 8] = vectors[:, 0]
    f[:, root + _ROOT_DIMS:] = vectors[:, 1:].reshape(len(f), -1)
    f[:, [root + 0, root + 2, root + 3, root + 4]] = 0.0
    return f


def crop_frame(features: np.ndarray) -> np.ndarray:
    """Part features of frames a:b of a clip (``part_features(...)[a:b]``, not normalised) -> those of the
    same frames taken as a clip of their own: turned to face +z at their first frame, the pelvis above the
    origin there, as ``part_features(joints[a:b])`` gives them (but for the first frame's velocities, which
    a slice keeps as measured). Identity on a clip's own first frames."""
    f = np.array(features, dtype=np.float32)
    if not len(f):
        return f
    root = FEATURE_LAYOUT["root"][0]
    angle = np.arctan2(f[:, root + 4], f[:, root + 3])
    c, s = np.cos(angle[0]), np.sin(angle[0])

    def turn(x, z):                       # about y by minus the first frame's heading
        return c * x - s * z, s * x + c * z
    f[:, root + 0], f[:, root + 2] = turn(f[:, root + 0] - f[0, root + 0], f[:, root + 2] - f[0, root + 2])
    f[:, root + 3], f[:, root + 4] = np.cos(angle - angle[0]), np.sin(angle - angle[0])
    f[:, root + 5], f[:, root + 7] = turn(f[:, root + 5].copy(), f[:, root + 7].copy())
    vectors = f[:, root + _ROOT_DIMS:].reshape(len(f), -1, 3)
    vectors[..., 0], vectors[..., 2] = turn(vectors[..., 0].copy(), vectors[..., 2].copy())
    f[:, root + _ROOT_DIMS:] = vectors.reshape(len(f), -1)
    return f


def mirror_joints(joints: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """Left/right mirror: reflect x and swap the skeleton's mirror pairs."""
    return (joints * np.array([-1.0, 1.0, 1.0], dtype=joints.dtype))[:, skeleton.mirror_permutation()]


def mirror_columns() -> tuple[np.ndarray, np.ndarray]:
    """(column order, sign) such that ``sign * features[..., order]`` are the part features of the mirrored
    clip: left and right parts swap, and every x (across the body) changes sign, as does the heading."""
    order, sign = np.arange(FEATURE_DIM), np.ones(FEATURE_DIM, dtype=np.float32)
    root = FEATURE_LAYOUT["root"][0]
    sign[[root + 0, root + 4, root + 5, root + 8]] = -1.0        # pelvis x, heading sine, x velocity, heading rate
    swap = {"left_arm": "right_arm", "right_arm": "left_arm", "left_leg": "right_leg", "right_leg": "left_leg"}
    for part in PARTS[1:]:
        start, stop = FEATURE_LAYOUT[part]
        order[start:stop] = np.arange(*FEATURE_LAYOUT[swap.get(part, part)])
        sign[start:stop:3] = -1.0            # positions then velocities, (x, y, z) per joint
    return order, sign


def mirror_features(features: np.ndarray) -> np.ndarray:
    """Part features (``part_features``, not normalised) of a clip -> those of its left/right mirror,
    the same as ``part_features(mirror_joints(...))`` without the joints."""
    order, sign = mirror_columns()
    return (features[..., order] * sign).astype(features.dtype, copy=False)


MIRROR_WORDS = {"left": "right", "right": "left", "leftward": "rightward", "rightward": "leftward",
                 "leftwards": "rightwards", "rightwards": "leftwards",
                 "clockwise": "counterclockwise", "counterclockwise": "clockwise",
                 "anticlockwise": "clockwise", "counter-clockwise": "clockwise",
                 "anti-clockwise": "clockwise"}
_MIRROR_RE = re.compile(r"\b(" + "|".join(sorted(map(re.escape, MIRROR_WORDS), key=len, reverse=True)) + r")\b",
                        re.IGNORECASE)


def mirror_text(text: str) -> str:
    """Swap left/right (and clockwise/counterclockwise) words, keeping their case."""
    def swap(m):
        word = m.group(0)
        out = MIRROR_WORDS[word.lower()]
        if word.isupper():
            return out.upper()
        return out.capitalize() if word[0].isupper() else out
    return _MIRROR_RE.sub(swap, text)


def feature_stats(features: list[np.ndarray], frame: str = "first") -> dict:
    """Per-column mean and std over all frames of FEATURES (``part_features``) read in FRAME (std floored
    so no column divides by ~0)."""
    if not features:
        raise LexmotionError("no clips to compute normalisation statistics from")
    if frame not in FRAMES:
        raise LexmotionError(f"a motion frame is one of {', '.join(FRAMES)}, not {frame!r}")
    if frame == "body":
        features = [body_frame(f) for f in features]
    stacked = np.concatenate(features, axis=0).astype(np.float64)
    mean, std = stacked.mean(axis=0), stacked.std(axis=0)
    std = np.maximum(std, 1e-2 * max(float(np.median(std)), 1e-6))
    return {"mean": mean.tolist(), "std": std.tolist(), "frames": int(len(stacked)),
            "fps": WORKING_FPS, "layout": {k: list(v) for k, v in FEATURE_LAYOUT.items()},
            **({"frame": frame} if frame != "first" else {})}

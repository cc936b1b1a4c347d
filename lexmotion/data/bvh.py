"""BVH reading and forward kinematics to global joint positions.

Conventions (those of the BVH format as Blender and most tools read it):
- a joint with position channels takes them as its local translation; a joint
  without takes its OFFSET;
- rotation channels compose in the order they are listed (``Zrotation
  Xrotation Yrotation`` gives R = Rz @ Rx @ Ry), acting on column vectors;
- End Sites are not joints.
Positions come out in metres: the file's unit (m, cm, mm, inch or CMU's 1/0.45
inch) is the one that gives the body a human size in the first frame, unless a
scale is given.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lexmotion.data.limits import DEFAULT_LIMITS, ReadLimits
from lexmotion.errors import LexmotionError


@dataclass
class BVH:
    joints: list[str]
    parents: list[int]
    offsets: np.ndarray          # (J, 3)
    channels: list[list[str]]    # per joint, e.g. ["Xposition", ..., "Yrotation"]
    frame_time: float
    motion: np.ndarray           # (T, C) float64
    scale: float = 1.0           # metres per file unit, set by read_bvh

    @property
    def fps(self) -> float:
        fps = 1.0 / self.frame_time
        return float(round(fps)) if abs(fps - round(fps)) < 1e-2 else fps


class _Hierarchy:
    """The HIERARCHY section, read token by token into joints, parents, offsets and channels."""

    def __init__(self, tokens: list[str], source: str, limits: ReadLimits):
        self.tokens, self.source, self.limits = tokens, source, limits
        self.joints, self.parents, self.offsets, self.channels = [], [], [], []
        self.stack: list[int] = []
        self.i, self.in_end_site = 1, 0

    def read(self) -> int:
        """-> the position of MOTION. IndexError: the file ends first; ValueError: a bad number."""
        handlers = {"ROOT": self._joint, "JOINT": self._joint, "End": self._end_site, "{": self._open,
                    "}": self._close, "OFFSET": self._offset, "CHANNELS": self._channels}
        while self.tokens[self.i] != "MOTION":
            tok = self.tokens[self.i]
            if tok not in handlers:
                raise LexmotionError(f"{self.source}: corrupt BVH: unexpected token {tok!r} in HIERARCHY")
            handlers[tok](tok)
        return self.i

    def _joint(self, tok: str) -> None:
        if tok == "ROOT" and self.joints:
            raise LexmotionError(f"{self.source}: BVH files with several ROOTs are not supported")
        self.joints.append(self.tokens[self.i + 1])
        self.parents.append(self.stack[-1] if self.stack else -1)
        self.limits.check_joints(len(self.joints), self.source)
        self.i += 2

    def _end_site(self, tok: str) -> None:
        self.in_end_site += 1
        self.i += 2

    def _open(self, tok: str) -> None:
        if not self.in_end_site:
            self.stack.append(len(self.joints) - 1)
        self.i += 1

    def _close(self, tok: str) -> None:
        if self.in_end_site:
            self.in_end_site -= 1
        else:
            self.stack.pop()
        self.i += 1

    def _offset(self, tok: str) -> None:
        if not self.in_end_site:
            self.offsets.append([float(v) for v in self.tokens[self.i + 1:self.i + 4]])
        self.i += 4

    def _channels(self, tok: str) -> None:
        n = int(self.tokens[self.i + 1])
        self.channels.append(self.tokens[self.i + 2:self.i + 2 + n])
        self.i += 2 + n

    def complete(self) -> bool:
        n = len(self.joints)
        return bool(n) and len(self.offsets) == n and len(self.channels) == n and not self.stack


def parse_bvh(text: str, source: str = "<bvh>", limits: ReadLimits = DEFAULT_LIMITS) -> BVH:
    """Parse BVH text. Raises LexmotionError naming ``source`` on any defect, and on a header that asks
    for more than ``limits`` allow (joints, frame rate, duration), before the frames are read."""
    tokens = text.split()
    if not tokens or tokens[0] != "HIERARCHY":
        raise LexmotionError(f"{source}: corrupt BVH: does not start with HIERARCHY")
    hierarchy = _Hierarchy(tokens, source, limits)
    try:
        i = hierarchy.read()
        if tokens[i + 1] != "Frames:" or tokens[i + 3:i + 5] != ["Frame", "Time:"]:
            raise LexmotionError(f"{source}: corrupt BVH: MOTION must be followed by Frames: and Frame Time:")
        n_frames = int(tokens[i + 2])
        frame_time = float(tokens[i + 5])
    except IndexError:
        raise LexmotionError(f"{source}: truncated BVH: the file ends inside its header") from None
    except ValueError as err:
        raise LexmotionError(f"{source}: corrupt BVH: {err}") from None
    if not hierarchy.complete():
        raise LexmotionError(f"{source}: corrupt BVH: unbalanced or incomplete HIERARCHY")
    if not (frame_time > 0 and np.isfinite(frame_time)):
        raise LexmotionError(f"{source}: corrupt BVH: Frame Time must be positive, got {frame_time}")
    limits.check_clip(max(n_frames, 0), 1.0 / frame_time, len(hierarchy.joints), source)
    motion = _frames(tokens[i + 6:], n_frames, sum(len(c) for c in hierarchy.channels), source)
    return BVH(hierarchy.joints, hierarchy.parents, np.asarray(hierarchy.offsets, dtype=np.float64),
               hierarchy.channels, frame_time, motion)


def _frames(values: list[str], n_frames: int, n_channels: int, source: str) -> np.ndarray:
    """The MOTION section's numbers as (frames, channels), refused unless there are exactly as many as declared."""
    expected = n_frames * n_channels
    if len(values) < expected:
        raise LexmotionError(
            f"{source}: truncated BVH: expected {n_frames} frames x {n_channels} channels, "
            f"found {len(values) // max(n_channels, 1)} whole frames")
    if len(values) > expected:
        raise LexmotionError(f"{source}: corrupt BVH: {len(values) - expected} values beyond the {n_frames} frames declared")
    try:
        return np.asarray(values, dtype=np.float64).reshape(n_frames, n_channels)
    except ValueError:
        raise LexmotionError(f"{source}: corrupt BVH: non-numeric value in MOTION") from None


def _axis_rotation(axis: str, degrees: np.ndarray) -> np.ndarray:
    """(T,) angles -> (T, 3, 3) rotation matrices about x, y or z."""
    a = np.deg2rad(degrees)
    c, s = np.cos(a), np.sin(a)
    one, zero = np.ones_like(a), np.zeros_like(a)
    if axis == "X":
        rows = [[one, zero, zero], [zero, c, -s], [zero, s, c]]
    elif axis == "Y":
        rows = [[c, zero, s], [zero, one, zero], [-s, zero, c]]
    else:
        rows = [[c, -s, zero], [s, c, zero], [zero, zero, one]]
    return np.stack([np.stack(r, axis=-1) for r in rows], axis=-2)


def forward_kinematics(bvh: BVH) -> np.ndarray:
    """Global joint positions (T, J, 3) in the file's units."""
    n_frames = bvh.motion.shape[0]
    positions = np.zeros((n_frames, len(bvh.joints), 3))
    rotations = np.zeros((n_frames, len(bvh.joints), 3, 3))
    col = 0
    for j, chans in enumerate(bvh.channels):
        # A position channel replaces that component of OFFSET (it is not added to it).
        local_t = np.broadcast_to(bvh.offsets[j], (n_frames, 3)).copy()
        local_r = np.broadcast_to(np.eye(3), (n_frames, 3, 3)).copy()
        for k, ch in enumerate(chans):
            v = bvh.motion[:, col + k]
            if ch.endswith("position"):
                local_t[:, "XYZ".index(ch[0].upper())] = v
            elif ch.endswith("rotation"):
                local_r = local_r @ _axis_rotation(ch[0].upper(), v)
        col += len(chans)
        p = bvh.parents[j]
        if p < 0:
            positions[:, j], rotations[:, j] = local_t, local_r
        else:
            positions[:, j] = positions[:, p] + np.einsum("tij,tj->ti", rotations[:, p], local_t)
            rotations[:, j] = rotations[:, p] @ local_r
    return positions


# Units found in BVH files, as metres per unit. CMU's BVH conversions use the ASF
# length unit, 1/0.45 inch.
UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254, "cmu": 0.0254 / 0.45}


def guess_scale(positions: np.ndarray) -> float:
    """Metres per file unit: the unit that makes the body's size closest to 1.7 m.

    The size is the 90th percentile over frames of the body's largest per-frame
    extent, so a clip that starts crouched still reads as a person. The root joint
    is left out: some rigs (Bandai) keep it at the origin as a ground marker
    while the body stands metres away.
    """
    body = positions[:, 1:] if positions.shape[1] > 2 else positions
    extent = float(np.percentile(np.ptp(body, axis=1).max(axis=-1), 90))
    if extent <= 0:
        return 1.0
    return min(UNITS.values(), key=lambda metres: abs(np.log(extent * metres / 1.7)))


def read_bvh(path: str | Path, scale: float | None = None, up_axis: str = "y",
             text: str | None = None, limits: ReadLimits = DEFAULT_LIMITS) -> tuple[BVH, np.ndarray]:
    """Read a BVH file -> (parsed file, (T, J, 3) float32 positions in metres, y-up).

    The scale applied (metres per file unit) is stored on the returned ``BVH.scale``.
    """
    source = str(path)
    if text is None:
        path = Path(path)
        if not path.is_file():
            raise LexmotionError(f"{source}: no such file")
        text = path.read_text(errors="replace")
    bvh = parse_bvh(text, source, limits)
    positions = forward_kinematics(bvh)
    if not np.isfinite(positions).all():
        bad = int(np.where(~np.isfinite(positions).all(axis=(1, 2)))[0][0])
        raise LexmotionError(f"{source}: frame {bad} has NaN or infinite values")
    if positions.shape[0] > 0:
        bvh.scale = scale if scale is not None else guess_scale(positions)
        positions = positions * bvh.scale
    if up_axis == "z":
        positions = positions[..., [0, 2, 1]] * np.array([1.0, 1.0, -1.0])
    elif up_axis != "y":
        raise LexmotionError(f"up axis must be 'y' or 'z', got {up_axis!r}")
    positions = positions.astype(np.float32)
    if not np.isfinite(positions).all():           # finite in float64, beyond float32 once scaled
        raise LexmotionError(f"{source}: positions too large to represent (values beyond 1e38 after scaling)")
    return bvh, positions

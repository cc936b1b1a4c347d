"""One motion file for a query or an upload: a .bvh, or a .npy of joints with its fps and skeleton.

Sizes are checked from the file's header against ``ReadLimits`` before any frame is read."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from lexmotion.data.bvh import read_bvh
from lexmotion.data.features import check_joints
from lexmotion.data.limits import DEFAULT_LIMITS, ReadLimits
from lexmotion.data.skeletons import skeleton_from_names
from lexmotion.errors import CorruptFileError, LexmotionError


def read_motion_file(path: str, fps: float = 20.0, skeleton: str | None = None,
                     limits: ReadLimits = DEFAULT_LIMITS) -> dict:
    """One motion file for a query: a .bvh (rig from its joint names) or a .npy of joints (T, J, 3)
    with ``skeleton`` (default by joint count) at ``fps``. -> {joints, fps, skeleton, source}."""
    from lexmotion.files import require_file
    p = require_file(path, "motion file")
    if p.suffix.lower() not in (".bvh", ".npy"):
        raise LexmotionError(f"{p}: a motion must be a .bvh file or a .npy of joints")
    return read_motion_bytes(str(p), p.read_bytes(), fps, skeleton, limits)


def read_motion_bytes(name: str, content: bytes, fps: float = 20.0, skeleton: str | None = None,
                      limits: ReadLimits = DEFAULT_LIMITS) -> dict:
    """``read_motion_file`` on a file's bytes (an upload): messages name ``name``, never a temporary path.
    Every size the header states is checked against ``limits`` before the frames are read."""
    from lexmotion.data.skeletons import REGISTRY, get_skeleton
    suffix = Path(name).suffix.lower()
    if suffix == ".bvh":
        bvh, joints = read_bvh(name, text=content.decode("utf-8", errors="replace"), limits=limits)
        skel = skeleton_from_names(bvh.joints, bvh.parents, source=name)
        return {"joints": check_joints(joints, name, skel), "fps": bvh.fps, "skeleton": skel, "source": name}
    if suffix == ".npy":
        fps = limits.check_fps(fps, name)
        shape = npy_shape(content, name)
        if len(shape) == 3:
            limits.check_clip(shape[0], fps, shape[1], name)
        joints = np.load(io.BytesIO(content), allow_pickle=False)
        if skeleton:
            skel = get_skeleton(skeleton)
        else:
            by_count = {21: REGISTRY["kitml-cmu"], 22: REGISTRY["humanml3d"]}
            skel = by_count.get(joints.shape[1] if joints.ndim == 3 else -1)
            if skel is None:
                raise LexmotionError(f"{name}: cannot tell the skeleton of shape {joints.shape}; pass --skeleton")
        return {"joints": check_joints(joints, name, skel), "fps": fps, "skeleton": skel, "source": name}
    raise LexmotionError(f"{name}: a motion must be a .bvh file or a .npy of joints")


def npy_shape(content: bytes, name: str) -> tuple[int, ...]:
    """The shape a .npy declares, read from its header alone; refused when the bytes cannot hold it,
    so a small file never makes numpy allocate what its header claims."""
    fmt = np.lib.format
    f = io.BytesIO(content)
    try:
        version = fmt.read_magic(f)
        shape, _, dtype = (fmt.read_array_header_1_0(f) if version == (1, 0) else fmt.read_array_header_2_0(f))
    except Exception as err:        # numpy raises ValueError, EOFError, SyntaxError... on a bad header
        reason = str(err).splitlines()[0][:100] if str(err) else type(err).__name__
        raise CorruptFileError(f"{name}: not a readable .npy file ({reason})") from None
    if dtype.hasobject:
        raise CorruptFileError(f"{name}: a .npy of Python objects is not read (it would need pickle)")
    need = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if need > len(content) - f.tell():
        raise CorruptFileError(f"{name}: not a readable .npy file (its header declares {shape}, "
                               f"{need:,} bytes, but it holds {len(content) - f.tell():,})")
    return tuple(int(n) for n in shape)

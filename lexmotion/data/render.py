"""Render a clip as an animated stick figure (GIF), its caption as the title."""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from lexmotion.data.skeletons import Skeleton
from lexmotion.errors import LexmotionError, WrongPathError
from lexmotion.files import atomic_save

PART_COLOURS = {"root": "black", "torso": "dimgray", "left_arm": "tab:blue", "right_arm": "tab:red",
                "left_leg": "tab:cyan", "right_leg": "tab:orange"}


def render_gif(joints: np.ndarray, fps: float, skeleton: Skeleton, out: str | Path,
               title: str = "", max_fps: float = 20.0, size: float = 4.0) -> Path:
    """Write an animated GIF of ``joints`` (T, J, 3), y-up metres. Returns the path."""
    try:
        from matplotlib.animation import FuncAnimation, PillowWriter
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise LexmotionError("rendering needs matplotlib and pillow: pip install matplotlib pillow") from None
    out = Path(out)
    if out.is_dir():
        raise WrongPathError(f"{out}: is a folder; --out is the .gif file to write")
    if out.suffix.lower() != ".gif":
        raise LexmotionError(f"{out}: the output must be a .gif file")
    if not out.parent.is_dir():
        raise LexmotionError(f"{out.parent}: no such folder for the output")
    step = max(1, int(round(fps / max_fps)))
    frames = joints[::step]
    part_of = {j: part for part, names in skeleton.parts.items() for j in names}
    pelvis = skeleton.index(skeleton.canonical["pelvis"])
    # Joints above the pelvis (a ground marker such as Bandai's joint_Root) are not drawn.
    bones = [(j, p, PART_COLOURS[part_of.get(skeleton.joints[j], "torso")])
             for j, p in enumerate(skeleton.parents) if p >= pelvis]
    # Plot x (lateral), z (depth) and y (up) with equal scale around the whole clip.
    xs, ys, zs = frames[..., 0], frames[..., 2], frames[..., 1]
    centre = np.array([(xs.max() + xs.min()) / 2, (ys.max() + ys.min()) / 2])
    half = max(np.ptp(xs), np.ptp(ys), zs.max(), 1.0) / 2 + 0.1
    fig = Figure(figsize=(size, size))        # its own Agg canvas: no global backend is set or needed
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(projection="3d")
    ax.set_title("\n".join(textwrap.wrap(title, 48)), fontsize=9)

    def draw(t):
        ax.cla()
        ax.set_xlim(centre[0] - half, centre[0] + half)
        ax.set_ylim(centre[1] - half, centre[1] + half)
        ax.set_zlim(0, 2 * half)
        ax.set_xlabel("x")
        ax.set_ylabel("z")
        ax.set_zlabel("y (up)")
        ax.view_init(elev=15, azim=-60)
        ax.plot(xs[: t + 1, pelvis], ys[: t + 1, pelvis], np.zeros(t + 1), color="lightgray", lw=1)
        for j, p, colour in bones:
            ax.plot([xs[t, j], xs[t, p]], [ys[t, j], ys[t, p]], [zs[t, j], zs[t, p]], color=colour, lw=2)
        return []

    anim = FuncAnimation(fig, draw, frames=len(frames), blit=False)
    atomic_save(out, lambda tmp: anim.save(tmp, writer=PillowWriter(fps=fps / step)))
    return out

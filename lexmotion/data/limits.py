"""What a motion or query may ask for, checked before anything is allocated or resampled.

A reader states the clip's frames, frame rate and joints from its header; ``ReadLimits.check_clip``
refuses it in one line when it is out of range, so a 1 KB file cannot ask for gigabytes (a 2-frame
clip at 1e-5 fps is 55 hours at the 20 fps the features work at). The defaults admit every real
take lexmotion reads (docs/reliability.md, "Limits"); each is settable where a command reads motions.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from lexmotion.errors import LexmotionError


@dataclass(frozen=True)
class ReadLimits:
    max_duration_s: float = 600.0        # frames ÷ fps
    min_fps: float = 1.0
    max_fps: float = 2000.0
    max_joints: int = 1000
    max_frame_joints: int = 4_000_000    # frames × joints: what forward kinematics and features hold at once
    max_query_chars: int = 2000

    def check_fps(self, fps, source: str) -> float:
        try:
            fps = float(fps)
        except (TypeError, ValueError):
            raise LexmotionError(f"{source}: fps {fps!r} is not a number") from None
        if not (math.isfinite(fps) and self.min_fps <= fps <= self.max_fps):
            raise LexmotionError(f"{source}: {fps:g} fps is outside the frame rates read ({self.min_fps:g} to "
                                 f"{self.max_fps:g})")
        return fps

    def check_joints(self, joints: int, source: str) -> None:
        if joints > self.max_joints:
            raise LexmotionError(f"{source}: more than {self.max_joints} joints (a body has tens; the limit is "
                                 "ReadLimits.max_joints)")

    def check_clip(self, frames: int, fps, joints: int, source: str) -> float:
        """Refuse a clip whose header asks for too much; -> its fps as a float."""
        fps = self.check_fps(fps, source)
        self.check_joints(joints, source)
        if frames / fps > self.max_duration_s:
            raise LexmotionError(f"{source}: {frames} frames at {fps:g} fps last {frames / fps:.0f} s, over the "
                                 f"{self.max_duration_s:g} s limit (--max-duration-s)")
        if frames * joints > self.max_frame_joints:
            raise LexmotionError(f"{source}: {frames} frames x {joints} joints is over the limit of "
                                 f"{self.max_frame_joints:,} joint positions in one clip")
        return fps

    def check_query(self, text: str) -> str:
        if len(text) > self.max_query_chars:
            raise LexmotionError(f"the query has {len(text):,} characters; at most {self.max_query_chars:,} are read "
                                 "(a description is a sentence or two)")
        return text


DEFAULT_LIMITS = ReadLimits()


def check_duration_option(value: float, option: str = "--max-duration-s") -> ReadLimits:
    """The limits with a user's --max-duration-s, refused in one line when it is not a positive number."""
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise LexmotionError(f"{option} must be a positive number of seconds, not {value!r}")
    from dataclasses import replace
    return replace(DEFAULT_LIMITS, max_duration_s=float(value))

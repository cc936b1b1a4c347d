"""How a motion is cut into moments: fixed windows (``windows``), or segments cut where the motion changes.

A motion is read through short windows (``NOVELTY_WINDOW_S`` long, one every ``NOVELTY_STEP_S``). At each
step its novelty is 1 − the cosine between the window that ends there and the window that starts there, as
the model encodes them. The novelty's peaks (the largest within ``PEAK_RADIUS_S`` either side, and above the
motion's mean novelty) are its change points. Every span between two change points or ends of the motion,
``SEGMENT_SECONDS`` long, is a proposal; a stretch longer than that with no change point inside is covered
by encoder-length windows every half a window. A motion too short for a change point is one proposal.

Windowed search ranks fixed windows (``windows``) and grows a hit through its
neighbours; a proposal is a moment already, so it is ranked as it is. ``docs/results/moments.md``
("Moments cut where the motion changes") measures both.
"""
from __future__ import annotations

import numpy as np

from lexmotion.data.features import WORKING_FPS

NOVELTY_WINDOW_S = 2.0
NOVELTY_STEP_S = 0.25
PEAK_RADIUS_S = 1.0
SEGMENT_SECONDS = (1.0, 10.0)
PROPOSALS = ("windows", "segments")
CHUNK = 256         # novelty steps encoded together


def encoded_rows(vectors) -> np.ndarray:
    """Encoded vectors (sparse COO or dense tensor) -> L2-normalised float rows."""
    v = (vectors.to_dense() if vectors.is_sparse else vectors).float().cpu().numpy()
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def windows(n_frames: int, window: int, stride: int) -> list[tuple[int, int]]:
    """(start, end) frames of windows of WINDOW frames every STRIDE frames over a clip of N_FRAMES; the last
    one ends with the clip; a clip no longer than a window stays whole."""
    if n_frames <= window:
        return [(0, n_frames)]
    starts = list(range(0, n_frames - window + 1, stride))
    if starts[-1] + window < n_frames:
        starts.append(n_frames - window)
    return [(s, s + window) for s in starts]


def novelty(model, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normalised (T, F) features -> (frames, novelty) at every step where a whole window fits either side."""
    size, step = round(NOVELTY_WINDOW_S * WORKING_FPS), round(NOVELTY_STEP_S * WORKING_FPS)
    starts = np.arange(0, len(features) - size + 1, step)
    lag = size // step          # the window that ends at a step started LAG steps before it
    if len(starts) <= lag:
        return np.zeros(0, dtype=int), np.zeros(0)
    values = []
    for first in range(0, len(starts) - lag, CHUNK):    # a long take's vectors, dense, would not fit at once
        last = min(first + CHUNK, len(starts) - lag)
        rows = encoded_rows(model.encode_motion([model.read_window(features[a:a + size])
                                                 for a in starts[first:last + lag]]))
        values.append(1.0 - np.einsum("ij,ij->i", rows[:last - first], rows[lag:]))
    return starts[lag:], np.concatenate(values)


def change_points(frames: np.ndarray, values: np.ndarray, radius: int) -> list[int]:
    """The frames where the novelty peaks: no larger value within RADIUS frames, and above its mean."""
    floor = values.mean() if len(values) else 0.0
    return [int(f) for f, v in zip(frames, values)
            if v > floor and v >= values[np.abs(frames - f) <= radius].max()]


def segment_spans(points: list[int], n_frames: int, max_frames: int) -> list[tuple[int, int]]:
    """(start, end) frames of the proposals between change POINTS of a motion of N_FRAMES (see the module)."""
    shortest, longest = (round(s * WORKING_FPS) for s in SEGMENT_SECONDS)
    ends = sorted({0, n_frames, *points})
    spans = [(a, b) for i, a in enumerate(ends) for b in ends[i + 1:] if shortest <= b - a <= longest]
    for a, b in zip(ends, ends[1:]):
        if b - a > longest:     # a long stretch with no change point: the encoder's windows cover it
            spans += [(a + s, a + e) for s, e in windows(b - a, max_frames, max_frames // 2)]
    return spans or [(0, n_frames)]


def cut_points(model, features: np.ndarray) -> list[int]:
    """The frames where one motion's normalised features change (its novelty's peaks)."""
    frames, values = novelty(model, features)
    return change_points(frames, values, round(PEAK_RADIUS_S * WORKING_FPS))


def segments(model, features: np.ndarray) -> list[tuple[int, int]]:
    """The proposals (start, end frames) of one motion's normalised features, cut where it changes."""
    return segment_spans(cut_points(model, features), len(features), model.config.motion.max_frames)


def stretches(model, features: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) frames of the stretches between one motion's consecutive change points, ends included."""
    ends = sorted({0, len(features), *cut_points(model, features)})
    return list(zip(ends, ends[1:]))

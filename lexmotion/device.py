"""Device choice shared by every trainer and command: ``auto`` means CUDA when present."""
from __future__ import annotations

import torch

from lexmotion.errors import BadValueError, LexmotionError


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """auto -> cuda when available, else cpu; a one-line error when cuda is asked for but absent."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise LexmotionError("--device cuda was asked for, but no CUDA device is available")
        return torch.device("cuda", local_rank)
    if name != "cpu":
        raise BadValueError(f"--device must be auto, cpu or cuda, not {name!r}")
    return torch.device(name)

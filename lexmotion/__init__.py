"""lexmotion: contrastive motion-language pretraining with sparse lexical embeddings.

The core: ``data`` (skeletons, importers, datasets, features), ``models`` (text and motion
encoders, lexical heads, losses, checkpoints), shared helpers (errors, devices, rank metrics,
tracking) and, on top of everything, ``app`` (the command line and the demo). Import-light:
nothing heavy (torch, datasets, FAISS, plotting) is imported here.
"""
__version__ = "0.1.0"

from lexmotion.errors import LexmotionError  # noqa: E402

__all__ = ["LexmotionError", "__version__", "load"]


def load(path, device="cpu"):
    """Load a pretrained checkpoint folder: ``lexmotion.load("runs/kit/lexcmlp")``."""
    from lexmotion.models.checkpoint import load as _load
    return _load(path, device)

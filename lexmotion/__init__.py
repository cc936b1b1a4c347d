"""lexmotion: contrastive motion-language pretraining with sparse lexical embeddings.

Import-light: nothing heavy (torch, datasets, FAISS, plotting) is imported here.
"""
__version__ = "0.1.0"

from lexmotion.errors import LexmotionError  # noqa: E402

__all__ = ["LexmotionError", "__version__", "load"]


def load(path, device="cpu"):
    """Load a pretrained checkpoint folder: ``lexmotion.load("runs/kit/lexcmlp")``."""
    from lexmotion.checkpoint import load as _load
    return _load(path, device)

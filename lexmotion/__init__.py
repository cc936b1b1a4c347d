"""lexmotion: contrastive motion-language pretraining with sparse lexical embeddings.

Import-light: nothing heavy (torch, datasets, FAISS, plotting) is imported here.
"""
__version__ = "0.1.0"

from lexmotion.errors import LexmotionError  # noqa: E402

__all__ = ["LexmotionError", "__version__"]

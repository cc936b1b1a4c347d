"""FAISS, imported lazily: faiss-cpu ([cpu]) and faiss-gpu-cu12 ([gpu]) cannot share an
environment, and the core install has neither."""
from __future__ import annotations

from lexmotion.errors import LexmotionError


def import_faiss():
    try:
        import faiss
    except ImportError:
        raise LexmotionError("FAISS is not installed: pip install 'lexmotion[cpu]' (faiss-cpu) or "
                             "'lexmotion[gpu]' (faiss-gpu-cu12); or use --backend sparse or torch") from None
    return faiss

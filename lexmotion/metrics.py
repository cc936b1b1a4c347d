"""Retrieval metrics: R@1, 2, 3, 5, 10 and MedR with ties averaged (as TMR).

A query's rank is that of its best-scoring positive; when other candidates have
exactly that score, the rank is the average of the positions the tie spans (TMR).
With ``ties="negatives"`` (label-derived positives, where many candidates are
positives with identical captions) only negatives count against the query: a tie
among positives is a hit, not an average.
"""
from __future__ import annotations

import numpy as np

RECALL_AT = (1, 2, 3, 5, 10)


def ranks(scores: np.ndarray, positives: np.ndarray, ties: str = "tmr") -> np.ndarray:
    """scores (Q, C), positives (Q, C) bool with at least one per row -> (Q,) 1-based ranks."""
    scores = np.asarray(scores, dtype=np.float64)
    if not positives.any(axis=1).all():
        raise ValueError("every query needs at least one positive")
    best = np.where(positives, scores, -np.inf).max(axis=1, keepdims=True)
    if ties == "negatives":
        higher = ((scores > best) & ~positives).sum(axis=1)
        tied = ((scores == best) & ~positives).sum(axis=1)
        return 1 + higher + tied / 2.0
    higher = (scores > best).sum(axis=1)
    tied = (scores == best).sum(axis=1)           # includes the positive itself
    return higher + (tied + 1) / 2.0


def summarise(rank: np.ndarray) -> dict:
    # TMR counts a query in R@k when its 0-based (tie-averaged) position is < k: a rank of 3.5
    # (tied over positions 3 and 4) is in R@3. rank - 1 < k says the same for 1-based ranks.
    out = {f"R@{k}": round(100.0 * float((rank - 1 < k).mean()), 2) for k in RECALL_AT}
    out["MedR"] = float(np.median(rank))
    return out


def retrieval_metrics(text_motion_scores: np.ndarray, positives: np.ndarray, ties: str = "tmr") -> dict:
    """Both directions from one (texts x motions) score matrix and its positive mask."""
    return {"t2m": summarise(ranks(text_motion_scores, positives, ties)),
            "m2t": summarise(ranks(text_motion_scores.T, positives.T, ties))}

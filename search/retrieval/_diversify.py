"""Maximal marginal relevance (Carbonell & Goldstein, 1998): for topic questions, don't spend the first
places on several tellings of the same event; each next pick trades relevance against likeness to the
stories already picked."""
from __future__ import annotations

import numpy as np

from ._fusion import minmax

LAMBDA = 0.7  # weight of relevance against novelty; 1.0 is the plain ranking


def mmr(relevance: np.ndarray, vectors: np.ndarray, k: int, lam: float = LAMBDA) -> np.ndarray:
    """Positions (into `relevance`/`vectors`) of k picks in MMR order.

    `relevance` is any score (min-max normalised here so the trade-off means the same for every mode);
    `vectors` are the candidates' unit-length embeddings, so their inner product is cosine likeness.
    """
    n = len(relevance)
    k = min(k, n)
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    rel = minmax(relevance)
    likeness = np.asarray(vectors, dtype=np.float32) @ np.asarray(vectors, dtype=np.float32).T
    picked = [int(np.argmax(rel))]
    closest = likeness[picked[0]].astype(np.float64)  # each candidate's likeness to its nearest pick
    available = np.ones(n, dtype=bool)
    available[picked[0]] = False
    while len(picked) < k:
        gain = np.where(available, lam * rel - (1.0 - lam) * closest, -np.inf)
        best = int(np.argmax(gain))
        picked.append(best)
        available[best] = False
        closest = np.maximum(closest, likeness[best])
    return np.asarray(picked, dtype=np.int64)

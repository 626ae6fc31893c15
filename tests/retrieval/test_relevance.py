"""Calibrated relevance as plain functions: how meaning and words join, how a list is shown, what the words mean."""
from __future__ import annotations

import numpy as np

from search.collection import Lexical
from search.collection._postings import Postings
from search.retrieval._relevance import (
    ANSWERABLE,
    STRONG,
    WORDS_ANSWER,
    displayed,
    hit_relevance,
    match,
    word_coverage,
    words_relevance,
)


def lexical_of(*texts: str) -> Lexical:
    return Lexical([Postings.build(list(texts))], np.zeros(1, dtype=np.int64), np.ones(len(texts), dtype=bool))


def test_either_kind_of_evidence_raises_relevance_and_neither_lowers_it():
    grid = np.linspace(0, 1, 11)
    rel = hit_relevance(grid[:, None], grid[None, :])
    assert rel.min() == 0.0 and rel.max() == 1.0
    assert (np.diff(rel, axis=0) >= 0).all() and (np.diff(rel, axis=1) >= 0).all()
    np.testing.assert_allclose(hit_relevance(np.array([0.5]), np.array([0.0])), [0.5])  # no words: meaning alone


def test_coverage_weighs_rare_words_over_common_ones():
    lexical = lexical_of("migration CORETT", "migration", "migration", "migration border")
    terms = ["migra", "coret"]  # BM25 terms are cut to five characters
    coverage = word_coverage(lexical, terms, np.array([0, 1, 3]))
    assert coverage[0] == 1.0 and 0.0 < coverage[1] < 0.2 and coverage[1] == coverage[2]
    assert word_coverage(lexical, [], np.array([0])).tolist() == [0.0]


def test_shown_scores_are_the_best_relevance_at_or_below_each_rank():
    np.testing.assert_allclose(displayed(np.array([0.2, 0.5, 0.3, 0.1])), [0.5, 0.5, 0.3, 0.1])
    assert displayed(np.array([])).tolist() == []


def test_words_say_where_a_score_sits():
    assert match(1.0) == match(STRONG) == "strong"
    assert match(STRONG - 1e-9) == match(ANSWERABLE) == "partial"
    assert match(ANSWERABLE - 1e-9) == match(0.0) == "weak"


def test_lexical_mode_puts_word_coverage_on_the_same_scale():
    np.testing.assert_allclose(words_relevance(np.array([0.0, WORDS_ANSWER, 1.0])), [0.0, ANSWERABLE, 2 * ANSWERABLE])

"""MMR: an optional step for topic questions; it reorders, never adds or repeats stories."""
from __future__ import annotations

import numpy as np

from search.retrieval._diversify import mmr
from tests.helpers import TOPIC_QUESTION


def test_mmr_skips_a_near_copy_of_what_is_already_picked():
    vectors = np.array([[1.0, 0.0], [0.999, 0.045], [0.6, 0.8], [-1.0, 0.0]], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    relevance = np.array([1.0, 0.95, 0.9, 0.0])  # the last, irrelevant one stays last however novel
    assert mmr(relevance, vectors, 4).tolist() == [0, 2, 1, 3]
    assert mmr(relevance, vectors, 4, lam=1.0).tolist() == [0, 1, 2, 3]  # relevance alone: the plain order
    assert mmr(relevance, vectors, 0).tolist() == []


def test_diversified_search_returns_the_same_kind_of_hits_without_repeats(service):
    q = TOPIC_QUESTION
    plain = service.search(q, k=10)
    diverse = service.search(q, k=10, diversify=True)
    ids = [h.story.id for h in diverse.hits]
    assert len(ids) == len(set(ids)) == 10
    assert ids[0] == plain.hits[0].story.id  # the best story still leads
    assert ids != [h.story.id for h in plain.hits]
    assert diverse.answerable == plain.answerable

"""Related stories: reciprocal neighbours get a small bonus; the story itself and its copies never come back."""
from __future__ import annotations

import numpy as np

from search.retrieval.ranking import rank
from search.retrieval.related import RECIPROCAL_BONUS, RECIPROCAL_K, kth_neighbour_cosine, with_reciprocal_bonus


def test_kth_neighbour_cosine_is_the_kth_best_other_story(hashed_service):
    index = hashed_service.index
    vectors = index.vectors_at(np.arange(len(index)))
    rows = np.array([0, 5, 17])
    sims = vectors[rows] @ vectors.T
    sims[np.arange(len(rows)), rows] = -np.inf
    expected = np.sort(sims, axis=1)[:, ::-1][:, RECIPROCAL_K - 1]
    np.testing.assert_allclose(kth_neighbour_cosine(index, rows), expected, atol=1e-6)


def test_the_bonus_goes_to_reciprocal_neighbours_and_only_reorders_near_ties(hashed_service):
    index, bonuses = hashed_service.index, 0
    for row in range(20):
        vector = index.vectors_at(np.array([row]))[0]
        plain = rank(index, index.story_at(row).text, vector, "hybrid", exclude=np.array([row]), dense_weight=0.5)
        boosted = with_reciprocal_bonus(index, plain, k=5)
        assert sorted(boosted.rows.tolist()) == sorted(plain.rows.tolist())
        assert list(boosted.scores) == sorted(boosted.scores, reverse=True)
        kth = dict(zip(plain.rows.tolist(), kth_neighbour_cosine(index, plain.rows)))
        fused = dict(zip(plain.rows.tolist(), plain.scores))
        for r, score, why in zip(boosted.rows.tolist(), boosted.scores, boosted.why):
            mutual = why.get("reciprocal") == 1.0
            assert score == fused[r] + (RECIPROCAL_BONUS if mutual else 0.0)
            assert not mutual or why["dense"] >= kth[r]
            bonuses += mutual
    assert bonuses > 0


def test_related_never_returns_the_story_or_a_copy_of_it(hashed_service):
    for story in hashed_service.index.stories[:10]:
        hits = hashed_service.related(story.id, k=10)
        assert story.id not in {h.story.id for h in hits}
        assert story.content_hash not in {h.story.content_hash for h in hits}
        assert all(h.match is None for h in hits)  # related scores are for ordering within the list

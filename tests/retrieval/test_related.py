"""Related stories: reciprocal neighbours get a small bonus; the story itself and its copies never come back."""
from __future__ import annotations

import numpy as np

from search.retrieval._fusion import related_weights
from search.retrieval._ranking import rank
from search.retrieval._related import RECIPROCAL_BONUS, RECIPROCAL_K, kth_neighbour_cosine, with_reciprocal_bonus
from search.retrieval._relevance import match


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
        plain = rank(index, index.story_at(row).text, vector, "hybrid", related_weights(index.scale.language),
                     exclude=np.array([row]))
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


def test_related_stories_are_scored_on_the_search_scale_in_the_same_words(service):
    """A related story's score is its relevance to the story's title asked as a question: 0 to 1, never rising
    down the list, in the words search hits use; the story's own title reads as a strong match of itself."""
    for story in service.index.stories[:8]:
        hits = service.related(story.id, k=10)
        scores = [h.score for h in hits]
        assert all(0.0 <= s <= 1.0 for s in scores) and scores == sorted(scores, reverse=True)
        assert all(h.match == match(h.score) for h in hits)
    own = service.search(service.index.stories[0].title, k=1).hits[0]
    assert own.story.id == service.index.stories[0].id and own.match == "strong"
    assert {h.match for s in service.index.stories[:8] for h in service.related(s.id, k=3)} >= {"strong", "partial"}

"""Related stories: a story's own text as the question, through the same ranking as a search, plus one signal a
question doesn't have: whether the story is also among the candidate's own nearest stories.

Nearness is not symmetric. A story in a dense cluster (one of many press releases on a training course) has
a close neighbour in every direction, so it turns up near everything; a reciprocal neighbour, whose own few
nearest stories include the story asked about, is related in both directions. Such candidates get a small
bonus on their fused score: enough to reorder near ties, too small to lift a weak candidate over a strong one.
"""
from __future__ import annotations

import numpy as np

from ..collection import StoryIndex
from ._fusion import related_weights
from ._ranking import Ranking, first_model, rank

RECIPROCAL_K = 5  # the story must be among the candidate's own RECIPROCAL_K nearest (3 and 10 measured worse)
RECIPROCAL_BONUS = 0.1  # on fused scores in [0, 1]


def related_ranking(index: StoryIndex, row: int, k: int, fusion: str) -> Ranking:
    """The stories related to the one at `row`, best first: never itself, nor a copy of it with the same text.
    Reciprocal neighbours get their bonus in convex fusion (rank fusion's scores are on another scale)."""
    me = index.story_at(row)
    vector = index.vectors_at(np.asarray([row]))[0]
    weights = related_weights(index.scale.language, len(index.scale.dims))
    ranking = rank(index, me.text, vector, "hybrid", weights, exclude=np.asarray([row]), fusion=fusion)
    twins = [i for i, r in enumerate(ranking.rows) if index.story_at(int(r)).content_hash == me.content_hash]
    ranking = ranking.without(twins)
    return with_reciprocal_bonus(index, ranking, k) if fusion == "convex" else ranking


def with_reciprocal_bonus(index: StoryIndex, ranking: Ranking, k: int) -> Ranking:
    """`ranking` with RECIPROCAL_BONUS added for each reciprocal neighbour and re-sorted. Only candidates that
    could reach the first k with the bonus are checked (each check is a nearest-neighbour search); the k-th
    score can only rise, so the others could not get there anyway."""
    if not len(ranking):
        return ranking
    reach = np.flatnonzero(ranking.scores >= ranking.scores[min(k, len(ranking)) - 1] - RECIPROCAL_BONUS)
    cosines = np.array([ranking.why[i]["dense"] for i in reach])
    mutual = cosines >= kth_neighbour_cosine(index, ranking.rows[reach])
    scores = ranking.scores.copy()
    scores[reach[mutual]] += RECIPROCAL_BONUS
    why = [dict(w) for w in ranking.why]
    for i in reach[mutual].tolist():
        why[i]["reciprocal"] = 1.0
    order = np.argsort(-scores, kind="stable")
    return Ranking(ranking.rows[order], scores[order], [why[i] for i in order])


def kth_neighbour_cosine(index: StoryIndex, rows: np.ndarray) -> np.ndarray:
    """Each row's cosine to its RECIPROCAL_K-th nearest other story (its farthest, in a smaller collection)."""
    out = np.full(len(rows), np.inf)
    if not len(rows):
        return out
    queries = first_model(index.vectors_at(rows), index.scale.dims)
    for i, (near, sims) in enumerate(index.nearest_each(queries, RECIPROCAL_K + 1)):
        others = np.sort(sims[near != rows[i]])[::-1]
        if len(others):
            out[i] = others[min(RECIPROCAL_K, len(others)) - 1]
    return out

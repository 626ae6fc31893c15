"""Stories without a question: a collection's newest (under the same filters a search takes), or one map topic's.

A person meeting a collection often has no question yet; these lists show what it holds. They are hits like a
search's, without a score: the snippet is the story's opening, and `match` is None.
"""
from __future__ import annotations

import numpy as np

from ..collection import StoryIndex
from ..corpus import Story
from ._filters import Filters
from ._results import Hit, Snippet

OPENING_CHARS = 280


def opening(story: Story) -> Snippet:
    """The first sentences of a story, cut at a word: what a list without a question shows of it."""
    body = story.body or story.title
    text = body if len(body) <= OPENING_CHARS else body[:OPENING_CHARS].rsplit(" ", 1)[0] + " …"
    return Snippet(text)


def _hits(index: StoryIndex, positions: np.ndarray) -> list[Hit]:
    stories = index.stories
    return [Hit(stories[p], 0.0, opening(stories[p])) for p in positions.tolist()]


def newest(index: StoryIndex, filters: Filters, k: int) -> tuple[list[Hit], int]:
    """The `k` newest stories the filters let through (undated ones last), and how many they let through."""
    live = np.flatnonzero(index.live)  # `index.stories` lists live rows in row order
    rows = filters.allowed_rows(index.columns)
    rows = live if rows is None else rows
    days = index.columns.dates[rows]
    order = np.argsort(-np.where(np.isnat(days), np.iinfo(np.int64).min + 1, days.astype("int64")), kind="stable")
    return _hits(index, np.searchsorted(live, rows[order[:k]])), len(rows)


def in_topic(index: StoryIndex, topic: int, k: int) -> tuple[list[Hit], int]:
    """The `k` stories nearest the middle of map topic `topic` (its most typical first), and its size."""
    atlas = index.atlas
    if atlas is None:
        return [], 0
    members = np.flatnonzero(atlas.topics == topic)
    if not len(members):
        return [], 0
    middle = np.median(atlas.coords[members], axis=0)
    order = np.argsort(((atlas.coords[members] - middle) ** 2).sum(axis=1), kind="stable")
    return _hits(index, members[order[:k]]), len(members)

"""BM25's top stories without scoring every story: `Lexical.top` and `scores_of` give exactly what scoring every
row (`scores`) and sorting gives, for questions of rare and common words, filters, exclusions, deleted rows
and several segments."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from search import SearchService
from search.corpus import make_story


def _sorted_top(scores: np.ndarray, n: int, allowed: np.ndarray | None, exclude: np.ndarray | None):
    keep = np.zeros(len(scores), dtype=bool)
    keep[allowed if allowed is not None else slice(None)] = True
    if exclude is not None:
        keep[exclude] = False
    rows = np.flatnonzero(keep & (scores > 0))
    order = np.lexsort((rows, -scores[rows]))[:n]
    return rows[order], scores[rows][order]


def _questions(service: SearchService, count: int) -> list[str]:
    """Questions of 1 to 8 words drawn from the stories: rare names, common words, repeats."""
    rng = random.Random(3)
    words = [w for s in service.index.stories for w in s.text.split()]
    return [" ".join(rng.choices(words, k=rng.randint(1, 8))) for _ in range(count)] + ["migrants migrants police"]


@pytest.fixture
def segmented(hashed_copy: Path) -> SearchService:
    """The hashed seeds with a delta of new stories and one of deletions: rows live and dead in 3 segments."""
    service = SearchService.open(hashed_copy)
    service.add([make_story(f"Coast guards of island {i} train for sea rescue", f"Rescue of migrants at sea {i}.")
                 for i in range(5)])
    service.delete([s.id for s in list(service.index.stories)[:3]])
    return service


@pytest.mark.parametrize("n", [1, 5, 100])
def test_the_top_stories_are_those_of_scoring_every_story(segmented: SearchService, n: int):
    lexical = segmented.index.lexical
    rng = np.random.default_rng(0)
    for question in _questions(segmented, 60):
        every = lexical.scores(question)
        for allowed, exclude in [(None, None), (np.sort(rng.choice(lexical.size, 20, replace=False)), None),
                                 (None, rng.choice(lexical.size, 3, replace=False))]:
            rows, scores = lexical.top(question, n, allowed, exclude)
            want_rows, want_scores = _sorted_top(every, n, allowed, exclude)
            np.testing.assert_array_equal(rows, want_rows, err_msg=question)
            np.testing.assert_array_equal(scores, want_scores, err_msg=question)


def test_the_top_stories_of_a_broad_filter_are_found_by_pruning(segmented: SearchService, monkeypatch):
    from search.collection import _lexical as module

    monkeypatch.setattr(module, "EXACT_BELOW", 0)  # a filter this broad is pruned, not scored whole
    lexical = segmented.index.lexical
    allowed = np.arange(0, lexical.size, 2)
    for question in _questions(segmented, 30):
        rows, scores = lexical.top(question, 10, allowed)
        want_rows, want_scores = _sorted_top(lexical.scores(question), 10, allowed, None)
        np.testing.assert_array_equal(rows, want_rows, err_msg=question)


def test_scores_of_some_rows_are_those_rows_of_every_score(segmented: SearchService):
    lexical = segmented.index.lexical
    rows = np.arange(lexical.size)[::3]
    for question in _questions(segmented, 30):
        np.testing.assert_array_equal(lexical.scores_of(question, rows), lexical.scores(question)[rows])

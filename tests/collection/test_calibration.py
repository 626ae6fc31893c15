"""The collection's own cosine levels: measured at build, kept with the index, moved by writes without the model,
measured again by merges."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from search import SearchService, StoryIndex
from search.collection import compact
from search.collection.calibration import TITLE, Calibration, Scale, best_cosines, probe_questions
from search.corpus import make_story


def test_a_build_measures_unrelated_questions_and_its_own_titles(hashed_index: Path):
    index = StoryIndex.load(hashed_index)
    base = index.segments[0].calibration
    assert base is not None and base.queries is not None and base.kinds is not None and base.texts is not None
    probes = probe_questions()
    assert len(probes) >= 140 and base.texts.tolist()[:len(probes)] == probes
    assert set(base.kinds[:len(probes)].tolist()) == {"en", "es"}
    assert (base.kinds[len(probes):] == TITLE).sum() == 44  # every seed title: fewer than the 200 sampled
    assert index.scale.language == "en"
    assert set(index.scale.null) == {"en", "es"}
    assert all(null < index.scale.positive for null in index.scale.null.values())
    np.testing.assert_allclose(base.best, best_cosines(base.queries, np.asarray(index.segments[0].vectors)), atol=1e-6)


def test_relevance_is_0_at_the_null_level_and_1_at_the_titles_level():
    scale = Scale({"en": 0.8, "es": 0.7}, 0.9, "en")
    np.testing.assert_allclose(scale.relevance(np.array([0.75, 0.8, 0.85, 0.9, 0.95]), "en"), [0, 0, 0.5, 1, 1])
    np.testing.assert_allclose(scale.relevance(np.array([0.8]), "es"), [0.5])  # each language its own null
    np.testing.assert_allclose(scale.relevance(np.array([0.85]), "fr"), [0.5])  # unknown: the English one


def test_a_write_moves_the_levels_by_its_own_stories_without_the_model(hashed_copy: Path):
    service = SearchService.open(hashed_copy)
    base = service.index.segments[0].calibration
    assert base is not None and base.texts is not None
    probe = probe_questions()[0]
    before = service.embedder.texts_embedded
    service.add([make_story(probe, probe)])  # a story that answers one probe exactly
    assert service.embedder.texts_embedded - before == 1  # the story; no probe or title embedded again
    delta = service.index.segments[-1].calibration
    assert delta is not None and delta.queries is None  # the probes' vectors stay in the base
    assert delta.best[0] > base.best[0]
    reopened = StoryIndex.load(hashed_copy)
    assert reopened.scale == service.index.scale


def test_a_merge_measures_its_stories_again_with_the_same_questions(hashed_copy: Path):
    service = SearchService.open(hashed_copy)
    gone = [s.id for s in service.index.stories[:10]]
    service.delete(gone)
    merged = compact(hashed_copy, service.index, "major")
    base = merged.segments[0].calibration
    old = service.index.segments[0].calibration
    assert base is not None and old is not None and old.queries is not None and base.queries is not None
    np.testing.assert_array_equal(base.queries, old.queries)
    live = np.asarray(merged.segments[0].vectors)
    np.testing.assert_allclose(base.best, best_cosines(old.queries, live), atol=1e-6)
    assert StoryIndex.load(hashed_copy).scale == merged.scale


def test_an_empty_segment_does_not_move_the_levels():
    queries = np.eye(3, dtype=np.float32)
    kinds = np.array(["en", "en", TITLE])
    base = Calibration(best_cosines(queries, queries[:2]), queries, np.array(["a", "b", "c"]), kinds)
    deletes_only = base.over(np.zeros((0, 3), np.float32))
    assert np.isneginf(deletes_only.best).all()
    assert Scale.of([base, deletes_only]) == Scale.of([base])

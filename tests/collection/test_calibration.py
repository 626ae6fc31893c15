"""The collection's own cosine levels: measured at build, kept with the index, moved by writes without the model,
measured again by merges."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from search import SearchService, build_index
from search.collection import compact, load_index
from search.collection._calibration import TITLE, Calibration, Scale, best_cosines, probe_questions, probe_vectors
from search.corpus import make_story
from search.embedding import load_embedder
from search.embedding._base import Kind
from tests.helpers import SEEDS, FailingAfter


def test_a_build_measures_unrelated_questions_and_its_own_titles(hashed_index: Path):
    index = load_index(hashed_index)
    base = index.segments[0].calibration
    assert base is not None and base.queries is not None and base.kinds is not None and base.texts is not None
    probes = probe_questions()
    assert len(probes) >= 140 and base.texts.tolist()[:len(probes)] == probes
    assert set(base.kinds[:len(probes)].tolist()) == {"en", "es"}
    assert (base.kinds[len(probes):] == TITLE).sum() == 44  # every seed title: fewer than the 200 sampled
    assert index.scale.language == "en" and index.scale.dims == (384,)
    assert set(index.scale.null[0]) == {"en", "es"}
    assert all(null < index.scale.positive[0] for null in index.scale.null[0].values())
    np.testing.assert_allclose(base.best, best_cosines(base.queries, np.asarray(index.segments[0].vectors), (384,)),
                               atol=1e-6)


def test_two_models_are_calibrated_each_on_its_own_part_of_the_vectors(tmp_path: Path):
    build_index([SEEDS], tmp_path, "hashing+hashing", laid_out=False)
    index = load_index(tmp_path)
    base = index.segments[0].calibration
    assert base is not None and base.queries is not None and base.texts is not None
    assert base.best.shape == (2, len(base.texts))
    assert index.scale.dims == (384, 384) and len(index.scale.null) == len(index.scale.positive) == 2
    vectors = np.asarray(index.segments[0].vectors)
    halves = [(base.queries[:, a:b] @ vectors[:, a:b].T).max(axis=1) for a, b in ((0, 384), (384, 768))]
    np.testing.assert_allclose(base.best, np.stack(halves), atol=1e-6)


def test_relevance_is_0_at_the_null_level_and_1_at_the_titles_level():
    scale = Scale(({"en": 0.8, "es": 0.7}, {"en": 0.1}), (0.9, 0.6), "en", (384, 384))
    np.testing.assert_allclose(scale.relevance(np.array([0.75, 0.8, 0.85, 0.9, 0.95]), "en"), [0, 0, 0.5, 1, 1])
    np.testing.assert_allclose(scale.relevance(np.array([0.8]), "es"), [0.5])  # each language its own null
    np.testing.assert_allclose(scale.relevance(np.array([0.85]), "fr"), [0.5])  # unknown: the English one
    np.testing.assert_allclose(scale.relevance(np.array([0.35]), "en", model=1), [0.5])  # each model its own levels


def test_a_calibration_written_for_one_model_reads_as_one_model_s(hashed_copy: Path):
    """Indexes built before a second model could read the stories keep working without a rebuild."""
    index = load_index(hashed_copy)
    folder = hashed_copy / index.manifest["segments"][0]["name"]
    base = index.segments[0].calibration
    assert base is not None and base.queries is not None and base.texts is not None and base.kinds is not None
    np.savez(folder / "old.npz", best=base.best[0], queries=base.queries, texts=base.texts, kinds=base.kinds,
             language=np.array(base.language))
    (folder / "old.npz").rename(folder / "calibration.npz")
    read = Calibration.load(folder, base=True, dim=384)
    assert read.dims == (384,) and read.best.shape == (1, len(base.texts))


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
    assert delta.best[0, 0] > base.best[0, 0]
    reopened = load_index(hashed_copy)
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
    np.testing.assert_allclose(base.best, best_cosines(old.queries, live, (384,)), atol=1e-6)
    assert load_index(hashed_copy).scale == merged.scale


def test_an_empty_segment_does_not_move_the_levels():
    queries = np.eye(3, dtype=np.float32)
    kinds = np.array(["en", "en", TITLE])
    base = Calibration(best_cosines(queries, queries[:2], (3,)), queries, np.array(["a", "b", "c"]), kinds, dims=(3,))
    deletes_only = base.over(np.zeros((0, 3), np.float32))
    assert np.isneginf(deletes_only.best).all()
    assert Scale.of([base, deletes_only]) == Scale.of([base])


class Shifted(FailingAfter):
    """The hashing model's id with other vectors: a model changed under the same name."""

    def _encode(self, texts: list[str], kind: Kind) -> np.ndarray:
        return np.roll(super()._encode(texts, kind), 1, axis=1)


def test_probe_vectors_are_embedded_once_per_model_and_kept_in_the_model_cache(tmp_path: Path,
                                                                                monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("STORY_SEARCH_CACHE", str(tmp_path / "model-cache"))
    probes = probe_questions()
    stories = [make_story(f"Story {i}", f"Body of story {i} about border work.") for i in range(5)]
    real = load_embedder("hashing")
    first = FailingAfter(real, limit=10_000)
    measured = Calibration.measure(stories, real.embed([s.text for s in stories]), first)
    assert first.texts_embedded == 1 + len(probes) + 5  # the check, the probes, the titles
    again = FailingAfter(real, limit=10_000)
    same = Calibration.measure(stories, real.embed([s.text for s in stories]), again)
    assert again.texts_embedded == 1 + 5  # the probes came from the cache
    np.testing.assert_array_equal(same.queries, measured.queries)
    cached = list((tmp_path / "model-cache" / "probe-vectors").glob("[!.]*"))  # beside its lock file
    assert len(cached) == 1 and (cached[0] / "manifest.json").is_file()

    changed = Shifted(real, limit=10_000)  # same id, other vectors: the cached probes no longer fit
    shifted = Calibration.measure(stories, real.embed([s.text for s in stories]), changed)
    assert shifted.queries is not None
    np.testing.assert_allclose(shifted.queries[:len(probes)], changed.embed(probes, "query"), atol=1e-6)


def test_damaged_probe_vectors_are_embedded_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("STORY_SEARCH_CACHE", str(tmp_path))
    embedder = load_embedder("hashing")
    probes = probe_questions()
    expected = probe_vectors(embedder, probes)
    saved = next((tmp_path / "probe-vectors").glob("*/probes.npy"))
    damaged = np.load(saved)
    damaged[5] = 0
    np.save(saved, damaged)  # passes the first-probe check, fails the checksum
    np.testing.assert_array_equal(probe_vectors(embedder, probes), expected)

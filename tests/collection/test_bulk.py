"""A base written a chunk at a time (`write_base`) is the index a build makes of the same stories: same
postings, vectors, keys and columns, same rankings; its engine is trained on a sample before it is filled."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from search import SearchService
from search.collection import Config, index_stories, load_index
from search.collection._bulk import write_base
from search.embedding import HASHING, load_embedder

QUESTIONS = [("police training against migrant smuggling", "hybrid"), ("labour migration", "lexical"),
             ("Guyana oil", "dense"), ("datos personales", "hybrid")]


def _ranked(service: SearchService) -> list[list[tuple[str, float]]]:
    return [[(h.story.id, round(h.why["fused"], 4)) for h in service.search(q, 10, mode).hits] for q, mode in QUESTIONS]


def _chunks(stories: list, vectors: np.ndarray, size: int):
    for start in range(0, len(stories), size):
        yield stories[start:start + size], vectors[start:start + size]


def test_a_base_written_in_chunks_is_the_index_a_build_makes(hashed_service: SearchService, tmp_path: Path):
    built = hashed_service.index
    stories = list(built.stories)
    vectors = built.vectors_at(np.flatnonzero(built.live))
    embedder = load_embedder(HASHING)
    config = Config(model=HASHING, map=False)
    index = write_base(tmp_path / "index", _chunks(stories, vectors, 10), len(stories), embedder, config)
    reopened = load_index(tmp_path / "index")
    assert len(reopened) == len(stories) == len(index)
    mine, theirs = reopened.segments[0], index_stories(stories, embedder, config).segments[0]
    np.testing.assert_array_equal(mine.keys, theirs.keys)
    np.testing.assert_array_equal(mine.vectors, theirs.vectors)
    np.testing.assert_array_equal(mine.columns.dates, theirs.columns.dates)
    assert {k: v.tolist() for k, v in mine.columns.country_rows.items()} == \
        {k: v.tolist() for k, v in theirs.columns.country_rows.items()}
    for term in theirs.postings.terms:
        for got, want in zip(mine.postings.entries(term), theirs.postings.entries(term)):
            np.testing.assert_array_equal(got, want)
    assert sorted(mine.postings.terms) == sorted(theirs.postings.terms)
    assert _ranked(SearchService(reopened, embedder)) == _ranked(SearchService(index_stories(stories, embedder,
                                                                                                config), embedder))


def test_an_approximate_engine_is_trained_on_a_sample_then_filled_in_slices(hashed_service: SearchService,
                                                                            tmp_path: Path):
    built = hashed_service.index
    stories = list(built.stories)
    vectors = built.vectors_at(np.flatnonzero(built.live))
    embedder = load_embedder(HASHING)
    config = Config(model=HASHING, map=False, index_type="faiss-ivf", index_params={"pq": 8, "nprobe": 8})
    write_base(tmp_path / "index", _chunks(stories, vectors, 7), len(stories), embedder, config)
    service = SearchService.open(tmp_path / "index")
    store = service.index.store
    assert store.kind == "faiss-ivf" and store.refine > 1 and len(store) == len(stories)
    for question, _ in QUESTIONS:  # compressed vectors find the candidates; stored vectors score them exactly
        hit = service.search(question, 3, "dense").hits[0]
        assert hit.why["dense"] == pytest.approx(float(service.query_vector(question) @ service.index.vectors_at(
            np.asarray([service.index.row(hit.story.id)]))[0]), abs=1e-5)


@pytest.mark.parametrize("problem, count, message", [
    ("too few", 50, "not the 50 announced"), ("too many", 30, "does not fit"),
])
def test_chunks_that_do_not_add_up_write_nothing(hashed_service: SearchService, tmp_path: Path, problem: str,
                                                  count: int, message: str):
    built = hashed_service.index
    stories = list(built.stories)
    vectors = built.vectors_at(np.flatnonzero(built.live))
    with pytest.raises(ValueError, match=message):
        write_base(tmp_path / "index", _chunks(stories, vectors, 10), count, load_embedder(HASHING),
                   Config(model=HASHING, map=False))
    assert not [p for p in (tmp_path / "index").iterdir() if not p.name.startswith(".lock")]

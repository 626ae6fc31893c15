"""The scale benchmark's harness builds a real service over synthetic stories: it breaks when the index does."""
from __future__ import annotations

import numpy as np

from benchmarks.common import live_vectors
from benchmarks.scale import service_for, store_level, synthetic, synthetic_stories
from search.embedding import load_embedder


def test_a_synthetic_collection_is_searched_through_the_service_like_a_built_one() -> None:
    embedder = load_embedder("hashing")
    base = embedder.embed([f"story about topic {i} and migrants" for i in range(20)])
    vectors = synthetic(600, base, seed=3)
    stories, keys = synthetic_stories(600)
    queries = embedder.embed(["migrants topic 3", "topic 7"], "query")

    report, approximate = store_level(keys, vectors, queries, "faiss-ivf")
    service = service_for(stories, vectors, approximate, embedder)

    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert 0 <= report["faiss-ivf"]["recall_at_10"] <= 1 and report["faiss-flat"]["recall_at_10"] == 1
    assert len(service.search("migrants topic 3", k=10, mode="dense").hits) == 10
    found_keys, found_vectors = live_vectors(service.index)
    assert np.array_equal(found_keys, keys) and np.array_equal(found_vectors, vectors)

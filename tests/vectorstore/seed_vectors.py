"""The seed corpus's vectors, the dev questions' vectors and two filters: what every engine is checked on."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from search.retrieval.filters import Filters
from search.retrieval.service import SearchService


def seed_case(service: SearchService, dev_queries: Path) -> dict[str, np.ndarray]:
    """keys, vectors, queries, and the allowed keys of a country filter and of every other story."""
    index = service.index
    questions = [json.loads(line)["query"] for line in dev_queries.read_text(encoding="utf-8").splitlines() if line]
    country = Counter(c for s in index.stories for c in s.countries).most_common(1)[0][0]
    return {"keys": index.keys, "vectors": np.asarray(index.vectors, dtype=np.float32),
            "queries": np.stack([service.query_vector(q) for q in questions]),
            "country": index.keys[Filters(countries=(country,)).allowed_rows(index.columns)],
            "alternate": index.keys[::2]}


def assert_same_top(found: tuple[np.ndarray, np.ndarray], expected: tuple[np.ndarray, np.ndarray]) -> None:
    """Same ids with the same scores; ids whose scores tie may swap places."""
    (scores, ids), (want_scores, want_ids) = found, expected
    assert ids.shape == want_ids.shape
    for row in range(len(ids)):
        assert sorted(ids[row].tolist()) == sorted(want_ids[row].tolist()), f"query {row}"
        np.testing.assert_allclose(scores[row], want_scores[row], atol=1e-4)

"""Exact top-k over a small candidate set: what an approximate index falls back to under a narrow filter.

A graph or inverted-list search asked for the 10 best of a few hundred allowed stories wanders through
millions of forbidden ones and can come back short. Scoring the allowed vectors directly is exact and,
below `EXACT_BELOW` candidates, cheaper than a flat search over the whole collection.
"""
from __future__ import annotations

import faiss
import numpy as np

from ._base import no_results

EXACT_BELOW = 20_000  # candidates scored directly: at most the cost of a small flat scan


def top_k(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(scores, ids) of the k best `vectors` for each query by inner product, padded with id -1."""
    scores, found = no_results(len(queries), k)
    if len(ids):
        sims = np.asarray(queries, dtype=np.float32) @ np.asarray(vectors, dtype=np.float32).T
        take = min(k, len(ids))
        best = np.argpartition(-sims, take - 1, axis=1)[:, :take]
        order = np.argsort(-np.take_along_axis(sims, best, axis=1), axis=1, kind="stable")
        best = np.take_along_axis(best, order, axis=1)
        scores[:, :take] = np.take_along_axis(sims, best, axis=1)
        found[:, :take] = ids[best]
    return scores, found


def id_selector(ids: np.ndarray) -> faiss.IDSelector:
    """A FAISS selector for a set of ids (a hash set: cost follows the set, not the collection)."""
    return faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64))


def selector_for(allowed: np.ndarray | None, excluded: np.ndarray | None) -> faiss.IDSelector | None:
    """The selector for an allow-list or an exclusion list (None for neither). The caller keeps the returned
    object alive for the search: FAISS's selectors hold only pointers."""
    if allowed is not None:
        return id_selector(allowed)
    if excluded is not None:
        inner = id_selector(excluded)
        outer = faiss.IDSelectorNot(inner)
        outer.referenced = inner  # keep the wrapped selector alive as long as the wrapper
        return outer
    return None

"""The vector-store interface: the one place that knows how vectors are searched.

Ids are int64 (FAISS's and Milvus's common ground); `StoryIndex` maps story ids to them. Search takes an
optional set of allowed ids so filters are applied inside the engine, before the top k is cut, and recall
is not lost to post-filtering.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from ._params import Spec, check

SQ8_REFINE = 2  # one byte per dimension keeps the order of neighbours nearly: twice the candidates suffice


class VectorStore(ABC):
    kind: str  # recorded in the manifest as the index type
    defaults: dict[str, Any] = {}  # every parameter the engine takes, with its default
    specs: dict[str, Spec] = {}  # what each of those parameters accepts (same names)
    # A server-side engine (Milvus) is the live state of the whole collection: writes go to it as they are
    # committed, and it answers for every segment. An embedded engine (FAISS) holds a base segment's vectors
    # as they were when the segment was written.
    live_writes = False

    def __init__(self, dim: int, params: dict[str, Any] | None = None) -> None:
        self.check_params(params or {})
        self.dim = dim
        self.params: dict[str, Any] = {**self.defaults, **(params or {})}

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        """Refuse an unknown parameter or a value the engine would crash on (`ConfigError`), before any work."""
        check(cls.kind, cls.specs, params)

    @property
    def refine(self) -> int:
        """Candidates per one wanted that the caller fetches and rescores with the stored vectors: 1 when the
        scores `search` returns are exact, more when they are estimates from compressed vectors (the coarser
        the compression, the further down its order the true neighbours fall)."""
        return 1

    def train(self, sample: np.ndarray, total: int) -> None:
        """Prepare for `total` vectors added in chunks, learning what the engine needs from `sample` of them,
        instead of from the first chunk (an engine that learns nothing ignores it)."""
        return None

    @abstractmethod
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under `ids`; ids already present are replaced."""

    @abstractmethod
    def remove(self, ids: np.ndarray) -> None:
        """Forget `ids`; unknown ids are ignored."""

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None,
               excluded: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (len(queries), `limit(k)`), best first; missing places hold id -1.

        `allowed` ids restrict the search before the top k is cut (an empty allow-list finds nothing);
        `excluded` ids are never returned (stories deleted since the engine's segment was written).
        """
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        k = self.limit(k)
        if allowed is not None:
            allowed = np.asarray(allowed, dtype=np.int64)
            if excluded is not None:
                allowed = np.setdiff1d(allowed, excluded)
            if not len(allowed):
                return no_results(len(queries), k)
            return self._search(queries, k, allowed, None)
        if excluded is not None and len(excluded):
            return self._search(queries, k, None, np.asarray(excluded, dtype=np.int64))
        return self._search(queries, k, None, None)

    def limit(self, k: int) -> int:
        """Results per query: k, no more than the vectors held, and at least 1 (the engines' minimum)."""
        return max(1, min(k, len(self) or 1))

    @abstractmethod
    def _search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None,
                excluded: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """`search` for float32 queries and a k already limited, with a non-empty allow-list or a non-empty
        exclusion list or neither (never both)."""

    def sync(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Make a live-writes engine hold exactly `ids` with `vectors` (an embedded engine has nothing to do)."""
        return None

    @abstractmethod
    def vector(self, id: int) -> np.ndarray:
        """The stored vector of `id` (KeyError when absent)."""

    @abstractmethod
    def copy(self) -> VectorStore:
        """An independent copy: updates are applied to a copy while readers keep searching the original."""

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def save(self, directory: Path) -> list[str]:
        """Write the engine's own files into `directory`; returns their names (for the manifest's checksums)."""

    @classmethod
    @abstractmethod
    def load(cls, directory: Path, dim: int, params: dict[str, Any], ids: np.ndarray,
             vectors: np.ndarray) -> VectorStore:
        """Open a saved store; `ids` and `vectors` are the index's own copy, for engines that rebuild from them."""


def no_results(queries: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """An answer with every place empty: score -inf, id -1."""
    return np.full((queries, k), -np.inf, dtype=np.float32), np.full((queries, k), -1, dtype=np.int64)

"""Exact inner-product search with FAISS: every vector compared, so recall is 1 by construction."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import faiss
import numpy as np

from ._base import VectorStore
from ._exact import selector_for


class FaissFlatStore(VectorStore):
    kind = "faiss-flat"

    def __init__(self, dim: int, params: dict[str, Any] | None = None) -> None:
        super().__init__(dim, params)
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        self.remove(ids)
        self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)

    def remove(self, ids: np.ndarray) -> None:
        if len(ids):
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))

    def _search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None,
                excluded: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        selector = selector_for(allowed, excluded)
        params = None if selector is None else faiss.SearchParameters(sel=selector)
        return self._index.search(queries, k, params=params)

    def vector(self, id: int) -> np.ndarray:
        try:
            return self._index.reconstruct(int(id))
        except RuntimeError:
            raise KeyError(id) from None

    def copy(self) -> FaissFlatStore:
        twin = FaissFlatStore(self.dim, self.params)
        twin._index = faiss.clone_index(self._index)
        return twin

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def save(self, directory: Path) -> list[str]:
        return []  # rebuilt from the index's vectors.npy on load: storing the same floats twice buys nothing

    @classmethod
    def load(cls, directory: Path, dim: int, params: dict[str, Any], ids: np.ndarray,
             vectors: np.ndarray) -> FaissFlatStore:
        store = cls(dim, params)
        if len(ids):
            store._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))
        return store

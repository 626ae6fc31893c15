"""Approximate search with a FAISS HNSW graph: sub-millisecond queries at a million stories.

An HNSW graph cannot delete a node, so removal leaves a tombstone (the node stays in the graph, searches
skip it through a bitmap selector) and the graph is rebuilt from its live vectors once tombstones pass
`rebuild_at` of it. Graph positions are mapped to story keys here rather than by `IndexIDMap2`, which
would forward removals to the graph and fail. Optional SQ8 storage keeps one byte per dimension instead of
four (the graph links still cost about 2 x M x 4 bytes per story).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import faiss
import numpy as np

from ._base import SQ8_REFINE, VectorStore, no_results
from ._exact import EXACT_BELOW, id_selector, top_k
from ._faiss_files import read_mapped, read_owned
from ._params import BOOLEAN, C_INT_MAX, FRACTION, integer

TRAIN_SAMPLE = 100_000  # vectors SQ8 learns its value ranges from
MAX_EF = 2048  # widest beam a filtered search may use before exact scoring would be cheaper


class FaissHNSWStore(VectorStore):
    kind = "faiss-hnsw"
    # efSearch 512: the narrow cone e5's vectors live in needs a wide beam for recall@10 0.95 against exact
    # (the sweep: benchmarks/README.md, "Engine comparison").
    defaults: dict[str, Any] = {"M": 32, "ef_construction": 80, "ef_search": 512, "sq8": False, "rebuild_at": 0.2}
    # M below 2 crashes FAISS (0 aborts, 1 segfaults); 2048 is Milvus's ceiling for it, where the graph links
    # alone cost 16 KB a story. rebuild_at 1 never rebuilds (tombstones cannot outnumber nodes).
    specs = {"M": integer(2, 2048), "ef_construction": integer(1, C_INT_MAX), "ef_search": integer(1, C_INT_MAX),
             "sq8": BOOLEAN, "rebuild_at": FRACTION}

    def __init__(self, dim: int, params: dict[str, Any] | None = None) -> None:
        super().__init__(dim, params)
        self._index = self._new_graph()
        self._keys = np.empty(0, dtype=np.int64)  # graph position -> key; -1 marks a tombstone
        self._mapped: Path | None = None  # the file the graph is memory-mapped from, while it is
        self._reindex()

    @property
    def refine(self) -> int:
        return SQ8_REFINE if self.params["sq8"] else 1

    def _new_graph(self) -> faiss.Index:
        p = self.params
        index = faiss.index_factory(self.dim, f"HNSW{int(p['M'])}" + (",SQ8" if p["sq8"] else ""),
                                    faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = int(p["ef_construction"])
        return index

    def _reindex(self) -> None:
        """Refresh the key lookup and the tombstone selector after the graph changed."""
        live = np.flatnonzero(self._keys >= 0)
        order = np.argsort(self._keys[live], kind="stable")
        self._sorted_keys, self._sorted_positions = self._keys[live][order], live[order]
        self._live_bitmap = self._live_selector = None
        if len(live) < len(self._keys):
            self._live_bitmap = np.packbits(self._keys >= 0, bitorder="little")  # kept alive for the selector
            self._live_selector = faiss.IDSelectorBitmap(len(self._keys), faiss.swig_ptr(self._live_bitmap))

    def _positions(self, keys: np.ndarray) -> np.ndarray:
        """Graph positions of the live `keys`; unknown keys are dropped."""
        keys = np.asarray(keys, dtype=np.int64)
        if not len(self._sorted_keys) or not len(keys):
            return np.empty(0, dtype=np.int64)
        at = np.searchsorted(self._sorted_keys, keys).clip(max=len(self._sorted_keys) - 1)
        return self._sorted_positions[at[self._sorted_keys[at] == keys]]

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._keys[self._positions(ids)] = -1  # replaced stories: their old node becomes a tombstone
        if self._mapped is not None:  # a mapped graph must not be written: read it into memory first
            self._index, self._mapped = read_owned(self._mapped), None
        if not self._index.is_trained and len(vectors):
            self._index.train(vectors[:TRAIN_SAMPLE])
        self._index.add(vectors)
        self._keys = np.concatenate([self._keys, ids])
        self._maybe_rebuild()

    def remove(self, ids: np.ndarray) -> None:
        self._keys[self._positions(ids)] = -1
        self._maybe_rebuild()

    def _maybe_rebuild(self) -> None:
        dead = int((self._keys < 0).sum())
        if dead and dead > float(self.params["rebuild_at"]) * len(self._keys):
            live = np.flatnonzero(self._keys >= 0)
            vectors = self._index.reconstruct_batch(live) if len(live) else np.empty((0, self.dim), np.float32)
            keys = self._keys[live]
            self._index, self._keys = self._new_graph(), np.empty(0, dtype=np.int64)
            if len(keys):
                if not self._index.is_trained:
                    self._index.train(vectors[:TRAIN_SAMPLE])
                self._index.add(vectors)
            self._keys = keys
        self._reindex()

    def _search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None,
                excluded: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        if not len(self):
            return no_results(len(queries), k)
        ef = max(int(self.params["ef_search"]), k)
        selector = self._live_selector
        if excluded is not None:  # positions of excluded keys, on top of the graph's own tombstones
            dead = np.zeros(len(self._keys), dtype=bool)
            dead[self._positions(excluded)] = True
            if self._live_selector is not None:
                dead |= self._keys < 0
            bitmap = np.packbits(~dead, bitorder="little")
            selector = faiss.IDSelectorBitmap(len(self._keys), faiss.swig_ptr(bitmap))
            selector.referenced = bitmap  # FAISS holds only a pointer to the bits
            ef = min(int(ef * len(self._keys) / max(1, int((~dead).sum()))), MAX_EF)
        if allowed is not None:
            positions = self._positions(allowed)
            if len(positions) <= EXACT_BELOW:
                vectors = (self._index.reconstruct_batch(positions) if len(positions)
                           else np.empty((0, self.dim), np.float32))
                return top_k(vectors, self._keys[positions], queries, k)
            selector = id_selector(positions)  # excludes tombstones too: only live positions are in it
            ef = min(int(ef * len(self) / len(positions)), MAX_EF)  # a sparse filter needs a wider beam
        params = faiss.SearchParametersHNSW(efSearch=ef, sel=selector) if selector is not None \
            else faiss.SearchParametersHNSW(efSearch=ef)
        scores, positions = self._index.search(queries, k, params=params)
        return scores, np.where(positions >= 0, self._keys[positions.clip(min=0)], -1)

    def vector(self, id: int) -> np.ndarray:
        positions = self._positions(np.array([id]))
        if not len(positions):
            raise KeyError(id)
        return self._index.reconstruct(int(positions[0]))

    def copy(self) -> FaissHNSWStore:
        twin = FaissHNSWStore(self.dim, self.params)
        twin._index = read_owned(self._mapped) if self._mapped is not None else faiss.clone_index(self._index)
        twin._keys = self._keys.copy()
        twin._reindex()
        return twin

    def __len__(self) -> int:
        return len(self._sorted_keys)

    def save(self, directory: Path) -> list[str]:
        faiss.write_index(self._index, str(directory / "hnsw.faiss"))
        np.save(directory / "hnsw_keys.npy", self._keys, allow_pickle=False)
        return ["hnsw.faiss", "hnsw_keys.npy"]

    @classmethod
    def load(cls, directory: Path, dim: int, params: dict[str, Any], ids: np.ndarray,
             vectors: np.ndarray) -> FaissHNSWStore:
        """Open the saved graph, memory-mapped; rebuild it from the index's vectors if it does not hold exactly
        `ids`."""
        store = cls(dim, params)
        graph, keys = directory / "hnsw.faiss", directory / "hnsw_keys.npy"
        if graph.is_file() and keys.is_file():
            store._index, store._mapped = read_mapped(graph), graph
            store._keys = np.load(keys, allow_pickle=False)
            store._reindex()
            if store._index.ntotal == len(store._keys) and np.array_equal(store._sorted_keys, np.sort(ids)):
                return store
        store = cls(dim, params)
        if len(ids):
            store.add(ids, vectors)
        return store

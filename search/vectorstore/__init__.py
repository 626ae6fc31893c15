"""Vector stores behind one interface; `create_store` picks the engine the configuration names.

Engines: `faiss-flat` (exact), `faiss-hnsw` and `faiss-ivf` (approximate), `milvus` (a Milvus server or
cluster, or milvus-lite, by URI; needs the `milvus` extra). `auto` is resolved by `choose` from the
collection size before a store is made.
"""
from __future__ import annotations

from typing import Any

from .threads import use_serving_threads  # first: bounds OpenMP spinning before FAISS loads
from .base import VectorStore  # noqa: I001
from .choice import AUTO, choose, compatible
from .faiss_flat import FaissFlatStore
from .faiss_hnsw import FaissHNSWStore
from .faiss_ivf import FaissIVFStore

_STORES: dict[str, type[VectorStore]] = {s.kind: s for s in (FaissFlatStore, FaissHNSWStore, FaissIVFStore)}
MILVUS = "milvus"


def store_class(kind: str) -> type[VectorStore]:
    if kind == MILVUS:  # imported on demand: pymilvus is an optional extra and slow to import
        from .milvus_store import MilvusStore

        return MilvusStore
    try:
        return _STORES[kind]
    except KeyError:
        known = ", ".join(sorted([*_STORES, MILVUS, AUTO]))
        raise ValueError(f"unknown index type {kind!r}; known: {known}") from None


def create_store(kind: str, dim: int, params: dict[str, Any] | None = None) -> VectorStore:
    return store_class(kind)(dim, params)


__all__ = ["AUTO", "FaissFlatStore", "FaissHNSWStore", "FaissIVFStore", "VectorStore", "choose", "compatible",
           "create_store", "store_class", "use_serving_threads"]

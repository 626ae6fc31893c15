"""Vector stores behind one interface; `create_store` picks the engine the configuration names."""
from __future__ import annotations

from typing import Any

from .base import VectorStore
from .faiss_flat import FaissFlatStore

_STORES: dict[str, type[VectorStore]] = {FaissFlatStore.kind: FaissFlatStore}


def store_class(kind: str) -> type[VectorStore]:
    try:
        return _STORES[kind]
    except KeyError:
        raise ValueError(f"unknown index type {kind!r}; known: {', '.join(sorted(_STORES))}") from None


def create_store(kind: str, dim: int, params: dict[str, Any] | None = None) -> VectorStore:
    return store_class(kind)(dim, params)


__all__ = ["FaissFlatStore", "VectorStore", "create_store", "store_class"]

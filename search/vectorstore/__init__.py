"""Vector stores behind one interface; `create_store` picks the engine the configuration names.

Engines: `faiss-flat` (exact), `faiss-hnsw` and `faiss-ivf` (approximate), `milvus` (a Milvus server or
cluster, or milvus-lite, by URI; needs the `milvus` extra). `auto` is resolved by `choose` from the
collection size before a store is made.
"""
from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from ._base import VectorStore
from ._choice import APPROXIMATE, AUTO, AUTO_SPECS, choose, compatible
from ._faiss_flat import FaissFlatStore
from ._faiss_hnsw import FaissHNSWStore
from ._faiss_ivf import FaissIVFStore
from ._params import check
from ._threads import use_serving_threads

_STORES: dict[str, type[VectorStore]] = {s.kind: s for s in (FaissFlatStore, FaissHNSWStore, FaissIVFStore)}
MILVUS = "milvus"
INDEX_TYPES: tuple[str, ...] = (AUTO, *sorted(_STORES), MILVUS)  # what a configuration may name


def store_class(kind: str) -> type[VectorStore]:
    if kind == MILVUS:  # imported on demand: pymilvus is an optional extra and slow to import
        from ._milvus_store import MilvusStore

        return MilvusStore
    try:
        return _STORES[kind]
    except KeyError:
        raise ConfigError(f"unknown index type {kind!r}; known: {', '.join(INDEX_TYPES)}") from None


def check_config(kind: str, params: dict[str, Any]) -> None:
    """Refuse an unknown engine, or a parameter it does not take or a value it would crash on, up front:
    before a long build embeds anything."""
    if kind != AUTO:
        return store_class(kind).check_params(params)
    misplaced = sorted(set(params) - set(AUTO_SPECS))
    if misplaced and set(misplaced) <= {name for store in _STORES.values() for name in store.specs}:
        raise ConfigError(f"index type auto takes no parameter {', '.join(misplaced)}: the approximate engine's "
                          f"parameters go in approximate_params, e.g. {{\"approximate_params\": {{\"nprobe\": 32}}}}")
    check(AUTO, AUTO_SPECS, params)
    store_class(params.get("approximate", APPROXIMATE)).check_params(params.get("approximate_params", {}))


def create_store(kind: str, dim: int, params: dict[str, Any] | None = None) -> VectorStore:
    return store_class(kind)(dim, params)


__all__ = ["AUTO", "INDEX_TYPES", "FaissFlatStore", "VectorStore", "check_config", "choose", "compatible",
           "create_store", "store_class", "use_serving_threads"]

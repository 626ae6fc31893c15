"""`index_type="auto"`: exact search while it is fast enough, an approximate index past a measured size.

A flat scan's cost grows with the collection; at `APPROXIMATE_FROM` stories it is still a small share of a
search, and exact results cost nothing extra. Past that an IVF index takes over: side by side with HNSW it
reaches higher recall at the same latency, builds several times faster and deletes for real instead of by
tombstones (figures: benchmarks/README.md). HNSW stays available by name.
A collection that shrinks keeps its approximate index down to half the threshold, so one that hovers
around the threshold is not rebuilt back and forth.
"""
from __future__ import annotations

from typing import Any

from ._base import VectorStore
from ._params import OBJECT, Spec, integer

AUTO = "auto"
APPROXIMATE_FROM = 50_000
EXACT = "faiss-flat"
APPROXIMATE = "faiss-ivf"
# Threshold 0: approximate from the first story. Which names are engines is for `store_class` to say.
AUTO_SPECS: dict[str, Spec] = {
    "threshold": integer(0),
    "approximate": Spec("the name of an engine other than auto", lambda v: isinstance(v, str) and v != AUTO),
    "approximate_params": OBJECT,
}


def choose(kind: str, params: dict[str, Any], size: int,
           previous: VectorStore | None = None) -> tuple[str, dict[str, Any]]:
    """The engine and parameters for a collection of `size` vectors.

    Auto parameters (all optional): `threshold` (stories), `approximate` (an engine kind) and
    `approximate_params` (that engine's parameters).
    """
    if kind != AUTO:
        return kind, params
    threshold = params.get("threshold", APPROXIMATE_FROM)
    approximate = params.get("approximate", APPROXIMATE)
    keep = previous is not None and previous.kind == approximate and size >= threshold // 2
    if size >= threshold or keep:
        return approximate, dict(params.get("approximate_params", {}))
    return EXACT, {}


def compatible(store: VectorStore, kind: str, params: dict[str, Any]) -> bool:
    """Whether `store` is what (kind, params) asks for, so updates can be applied to it instead of a rebuild.

    Engines add their defaults and trained values (e.g. IVF's bucket count) to their parameters, so a
    store is compatible when it agrees with every parameter asked for, not when the dicts are equal.
    """
    return store.kind == kind and all(store.params.get(name) == value for name, value in params.items())

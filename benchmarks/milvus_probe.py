"""Inside a loopback-only namespace: start the real Milvus, load a case, answer its queries, time them.

`python -m benchmarks.milvus_probe CASE.npz OUT.npz`. CASE holds `keys`, `vectors`, `queries` and any
number of `allow_*` key arrays (filters). OUT gets, per filter (`all` for none), Milvus's `scores_*` and
`ids_*` for the top 10, plus per-query latencies of Milvus and of FAISS exact search measured side by
side (`ms_milvus`, `ms_faiss`) and the server's start time.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from search.vectorstore import FaissFlatStore, create_store, use_serving_threads
from search.vectorstore._milvus_store import MilvusStore

K = 10
ROUNDS = 5  # each query this many times, interleaving the two engines


def main(case_path: str, out_path: str) -> None:
    from milvus import MilvusServer

    case = np.load(case_path)
    keys, vectors, queries = case["keys"], case["vectors"], case["queries"]
    filters = {"all": None, **{name: case[name] for name in case.files if name.startswith("allow_")}}
    base = Path(tempfile.mkdtemp(prefix="milvus-"))
    server = MilvusServer()
    server.set_base_dir(str(base))
    started = time.perf_counter()
    server.start()
    out: dict[str, Any] = {"start_s": np.array(time.perf_counter() - started)}
    try:
        use_serving_threads()
        milvus = create_store("milvus", vectors.shape[1], {"uri": f"http://127.0.0.1:{server.listen_port}"})
        assert isinstance(milvus, MilvusStore)  # for `drop`, which only a server-side collection has
        milvus.add(keys, vectors)
        flat = FaissFlatStore(vectors.shape[1])
        flat.add(keys, vectors)
        for name, allowed in filters.items():
            out[f"scores_{name}"], out[f"ids_{name}"] = milvus.search(queries, K, allowed)
        timings: dict[str, list[float]] = {"milvus": [], "faiss": []}
        for _ in range(ROUNDS):
            for q in queries:
                for engine, store in (("milvus", milvus), ("faiss", flat)):
                    t = time.perf_counter()
                    store.search(q[None, :], K)
                    timings[engine].append((time.perf_counter() - t) * 1000)
        out["ms_milvus"], out["ms_faiss"] = np.array(timings["milvus"]), np.array(timings["faiss"])
        milvus.drop()
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
    np.savez(out_path, **out)


if __name__ == "__main__":
    main(*sys.argv[1:3])

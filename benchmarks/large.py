"""Collections of millions of stories on one machine: build in chunks, then memory, start-up, latency and recall.

    python -m benchmarks.large build 10000000 /data/ten-million           # hashing stand-in, IVF-PQ
    python -m benchmarks.large build 1000000 /data/million --model e5      # e5's model, IVF (flat lists)
    python -m benchmarks.large measure /data/ten-million                   # latency, recall, memory
    python -m benchmarks.large serve /data/million                         # start-up and memory, 1 and 2 workers

SYNTHETIC STORIES, headline plus lead (an 8-word title and a 36-word body): each draws half its words from one
Reuters-21578 story (its "topic": 21,578 topics, so stories on one topic share words as real news on one event
does) and half from the whole Reuters vocabulary by frequency. BM25 therefore sees real word statistics and
the stories have neighbours; with every word drawn from the global frequencies alone (`benchmarks.writes`)
nearest neighbours are a matter of chance and no approximate index can find them. Questions are six words
drawn the same way from a topic.

Vectors: with the `hashing` stand-in model (the default: the index's own work is measured, not the model's)
each story's vector is its text's; with `--model e5` they are mixtures of real e5 story vectors plus noise,
as in the scale benchmark (embedding a million stories with the real model would take hours), and the
questions are the 45 dev questions embedded by the real model.

`build` writes the index with `search.collection._bulk.write_base` a chunk at a time and reports its time and
the process's peak memory. `measure` opens it in a fresh process and reports the opening time, resident
memory, service latency by mode (question embedded each time) and recall@10 of dense search against exact
search over every vector, on a sample of questions. `serve` starts `python -m search serve` with 1 and then
2 workers, each after evicting the index's files from the page cache: time to the first answer, and each
process's memory after a few hundred searches. Every figure comes with the load average at the time.
Results: benchmarks/results/large-<build|measure|serve>-<stories>-<hashing|e5>.json.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator
from multiprocessing.pool import AsyncResult, Pool
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from search import SearchService, Story
from search.collection import Config, load_index
from search.embedding import HASHING, load_embedder

from .common import RESULTS, REUTERS, dev_questions, process_memory, summary

TITLE_WORDS, BODY_WORDS = 8, 36
TOPIC_SHARE = 0.5  # of a story's words, drawn from its topic's story; the rest from the whole vocabulary
QUESTION_WORDS = 6
CHUNK = 250_000
AHEAD = 2  # chunks made but not yet written
_WORD = re.compile(r"[a-z]{3,}")
ENGINES = {"hashing": {"index_type": "faiss-ivf", "index_params": {"pq": 32, "nlist": 4096, "nprobe": 128}},
           "e5": {"index_type": "faiss-ivf", "index_params": {}}}


class Words:
    """Reuters-21578's vocabulary with its frequencies, and each story's words (the topics)."""

    def __init__(self) -> None:
        topics: list[list[str]] = []
        for shard in sorted(REUTERS.glob("corpus-*.jsonl")):
            for line in shard.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                words = _WORD.findall(f"{record.get('title', '')} {record.get('text', '')}".lower())
                if len(words) >= 8:
                    topics.append(words)
        counts: dict[str, int] = {}
        for words in topics:
            for w in words:
                counts[w] = counts.get(w, 0) + 1
        self.vocabulary = np.array(sorted(counts, key=lambda w: -counts[w]))
        ids = {w: i for i, w in enumerate(self.vocabulary.tolist())}
        frequency = np.array([counts[w] for w in self.vocabulary.tolist()], dtype=np.float64)
        self.cumulative = np.cumsum(frequency / frequency.sum())
        self.topic_words = np.array([ids[w] for words in topics for w in words], dtype=np.int64)
        self.topic_starts = np.concatenate([[0], np.cumsum([len(w) for w in topics])]).astype(np.int64)

    @property
    def topics(self) -> int:
        return len(self.topic_starts) - 1

    def draw(self, rng: np.random.Generator, topics: np.ndarray, words: int) -> np.ndarray:
        """Word ids, `words` per topic given: each from the topic's story or the whole vocabulary."""
        n = len(topics)
        starts, sizes = self.topic_starts[topics], np.diff(self.topic_starts)[topics]
        own = self.topic_words[starts[:, None] + (rng.random((n, words)) * sizes[:, None]).astype(np.int64)]
        common = np.searchsorted(self.cumulative, rng.random((n, words))).clip(max=len(self.vocabulary) - 1)
        return np.where(rng.random((n, words)) < TOPIC_SHARE, own, common)

    def stories(self, start: int, n: int) -> list[Story]:
        """Stories start .. start + n - 1 (the same every run): title, lead, a 1987 date, an id of their own."""
        rng = np.random.default_rng(start)
        drawn = self.vocabulary[self.draw(rng, rng.integers(self.topics, size=n), TITLE_WORDS + BODY_WORDS)]
        days = np.datetime64("1987-01-01") + rng.integers(365, size=n)
        out = []
        for i, (row, day) in enumerate(zip(drawn.tolist(), days.astype(str).tolist())):
            title = " ".join(row[:TITLE_WORDS]).capitalize()
            out.append(Story(id=f"s{start + i}", title=title, body=" ".join(row[TITLE_WORDS:]) + ".", date=day,
                             titles=(title,)))
        return out

    def questions(self, n: int, seed: int = 7) -> list[str]:
        rng = np.random.default_rng(seed)
        drawn = self.vocabulary[self.draw(rng, rng.integers(self.topics, size=n), QUESTION_WORDS)]
        return [" ".join(row) for row in drawn.tolist()]


def mixtures(n: int, base: np.ndarray, seed: int) -> np.ndarray:
    from .scale import synthetic

    return synthetic(n, base, seed=seed)


def e5_base_vectors() -> np.ndarray:
    """Real e5 story vectors to mix: the seeds and 300 Reuters stories, embedded here."""
    from .common import ROOT, reuters_texts

    embedder = load_embedder()
    texts = [p.read_text(encoding="utf-8")[:2000] for p in sorted((ROOT / "seeds").glob("*.txt"))]
    texts += [f"{r.get('title', '')}. {r.get('text', '')}" for r in reuters_texts(300)]
    return embedder.embed(texts)


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2),
            "nice": os.getpriority(os.PRIO_PROCESS, 0)}


_made: dict[str, Any] = {}  # in each process making chunks: the words, the model, the e5 vectors to mix


def _start_making(model: str, base: np.ndarray | None) -> None:
    _made.update(words=Words(), embedder=load_embedder(HASHING if model == "hashing" else None), base=base)


def _chunk(span: tuple[int, int]) -> tuple[list[Story], np.ndarray]:
    """Stories start .. end - 1 and their vectors (the text's, or e5 mixtures)."""
    start, end = span
    stories = _made["words"].stories(start, end - start)
    if _made["base"] is None:
        return stories, _made["embedder"].embed([s.text for s in stories])
    return stories, mixtures(len(stories), _made["base"], seed=start)


def _ahead(makers: Pool, spans: list[tuple[int, int]]) -> Iterator[tuple[list[Story], np.ndarray]]:
    """The chunks in order, made at most AHEAD ahead of the writer: `Pool.imap` would make them as fast as
    its processes can and queue every finished one in this process, unbounded while the writer is slower."""
    pending: deque[AsyncResult[tuple[list[Story], np.ndarray]]] = deque()
    for span in spans:
        pending.append(makers.apply_async(_chunk, (span,)))
        if len(pending) > AHEAD:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


def build(n: int, root: Path, model: str) -> dict[str, Any]:
    """Write the index a chunk at a time; two processes make the chunks while this one writes them."""
    import multiprocessing

    from search.collection._bulk import write_base

    embedder = load_embedder(HASHING if model == "hashing" else None)
    base = e5_base_vectors() if model == "e5" else None
    config = Config(model=embedder.model_id, map=False, **ENGINES[model])  # type: ignore[arg-type]
    spans = [(start, min(start + CHUNK, n)) for start in range(0, n, CHUNK)]
    before = machine()
    started = time.monotonic()
    with multiprocessing.get_context("fork").Pool(2, _start_making, (model, base)) as makers:
        index = write_base(root, _ahead(makers, spans), n, embedder, config)
    seconds = time.monotonic() - started
    files = index.entries[index.segments[0].name]["files"]
    engine = {"type": index.store.kind, "params": index.store.params}
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"stories": n, "model": embedder.model_id, "engine": engine,
            "build_s": round(seconds, 1), "stories_per_s": round(n / seconds),
            "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
            "peak_rss_gb_chunk_makers": round(children / 2**20, 2),
            "disk_gb": {name: round(f["bytes"] / 2**30, 3) for name, f in files.items() if f["bytes"] > 2**26},
            "disk_total_gb": round(sum(f["bytes"] for f in files.values()) / 2**30, 2),
            "machine_before": before, "machine_after": machine()}


def _status() -> dict[str, float]:
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {name: round(int(fields[name].split()[0]) / 2**20, 2) for name in ("VmRSS", "RssAnon", "RssFile", "VmHWM")}


def _exact_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """The rows of the k highest inner products of each query, over every vector (read in slices)."""
    best_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_rows = np.zeros((len(queries), k), dtype=np.int64)
    for start in range(0, len(vectors), 200_000):
        scores = queries @ np.asarray(vectors[start:start + 200_000]).T
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        merged_scores = np.hstack([best_scores, np.take_along_axis(scores, top, axis=1)])
        merged_rows = np.hstack([best_rows, top + start])
        keep = np.argsort(-merged_scores, axis=1)[:, :k]
        best_scores, best_rows = (np.take_along_axis(merged_scores, keep, axis=1),
                                  np.take_along_axis(merged_rows, keep, axis=1))
    return best_rows


NPROBES = (32, 64, 128, 256)


def _latency(service: SearchService, questions: list[str], mode: str) -> dict[str, Any]:
    times = []
    for _ in range(3):
        for q in questions:
            t = time.perf_counter()
            service.search(q, 10, mode)
            times.append((time.perf_counter() - t) * 1000)
    return {**summary(times), "load_avg_1m": round(os.getloadavg()[0], 2)}


def _recall(service: SearchService, questions: list[str], truth: np.ndarray) -> float:
    """Recall@10 of the service's dense search against `truth`, the exact top 10 of each question."""
    index = service.index
    found = [[index.row(h.story.id) for h in service.search(q, 10, "dense").hits] for q in questions]
    return round(statistics.mean(len(set(f) & set(t.tolist())) / 10 for f, t in zip(found, truth)), 4)


def measure(root: Path, questions_n: int, exact_n: int) -> dict[str, Any]:
    from search.vectorstore import use_serving_threads

    use_serving_threads()
    before = machine()
    started = time.monotonic()
    service = SearchService.open(root, query_cache_size=0)
    opened_s = time.monotonic() - started
    index = service.index
    if service.embedder.model_id == HASHING or "hashing" in service.embedder.model_id:
        questions = Words().questions(questions_n)
    else:
        questions = dev_questions()
    service.search(questions[0], 10, "dense")
    latency: dict[str, Any] = {}
    for mode in ("dense", "hybrid", "lexical"):
        latency[mode] = _latency(service, questions, mode)
    memory = _status()  # before the exact search below reads every vector through the same mapping
    sample = questions[:exact_n]
    queries = np.stack([service.query_vector(q) for q in sample])
    started = time.monotonic()
    truth = _exact_top(index.segments[0].vectors, queries, 10)
    exact_s = time.monotonic() - started
    recall = _recall(service, sample, truth)
    sweep = []
    if "nprobe" in index.store.params:  # what scanning more or fewer buckets buys
        chosen = index.store.params["nprobe"]
        for nprobe in NPROBES:
            index.store.params["nprobe"] = nprobe
            sweep.append({"nprobe": nprobe, "recall_at_10": _recall(service, sample, truth),
                          "dense": _latency(service, questions, "dense")})
        index.store.params["nprobe"] = chosen
    return {"stories": len(index), "model": index.model_id,
            "engine": {"type": index.store.kind, "params": index.store.params}, "open_s": round(opened_s, 2),
            "questions": len(questions), "latency_ms": latency,
            "recall_at_10_dense_vs_exact": recall, "recall_questions": len(sample), "nprobe_sweep": sweep,
            "exact_search_s": round(exact_s, 1), "memory_gb_after_searches": memory,
            "machine_before": before, "machine_after": machine()}


def evict(root: Path) -> None:
    """Drop the index's files from the page cache (only these files), as after a reboot."""
    for path in root.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def serve_once(root: Path, workers: int, questions: list[str], port: int) -> dict[str, Any]:
    """Start `serve --workers N` on a cold page cache: seconds to the first API answer and the first search
    answer, then each process's memory after searching every question twice."""
    evict(root)
    before = machine()
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "search", "serve", "--index-dir", str(root), "--port", str(port),
                                "--workers", str(workers)], env={**os.environ, "HF_HUB_OFFLINE": "1"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        first = None
        while first is None:
            if process.poll() is not None or time.monotonic() - started > 600:
                raise SystemExit(f"serve --workers {workers} did not start")
            try:
                if httpx.get(url + "/api/search", params={"q": questions[0]}, timeout=60).status_code == 200:
                    first = time.monotonic() - started
            except httpx.TransportError:
                time.sleep(0.05)
        with httpx.Client(base_url=url, timeout=60) as http:
            for q in questions * 2:
                http.get("/api/search", params={"q": q, "k": 10})
        memory = process_memory(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    return {"workers": workers, "first_search_answer_s": round(first, 2), "memory_mb": memory,
            "machine_before": before}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.large", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="step", required=True)
    p = sub.add_parser("build")
    p.add_argument("stories", type=int)
    p.add_argument("index_dir", type=Path)
    p.add_argument("--model", choices=sorted(ENGINES), default="hashing")
    p = sub.add_parser("measure")
    p.add_argument("index_dir", type=Path)
    p.add_argument("--questions", type=int, default=100)
    p.add_argument("--exact", type=int, default=100, help="questions whose exact top 10 is computed")
    p = sub.add_parser("serve")
    p.add_argument("index_dir", type=Path)
    p.add_argument("--port", type=int, default=7890)
    args = parser.parse_args(argv)
    if args.step == "build":
        report = build(args.stories, args.index_dir, args.model)
    elif args.step == "measure":
        report = measure(args.index_dir, args.questions, args.exact)
    else:
        index = load_index(args.index_dir)
        questions = dev_questions() if "hashing" not in index.model_id else Words().questions(50)
        runs = [serve_once(args.index_dir, workers, questions, args.port) for workers in (1, 2)]
        report = {"stories": len(index), "model": index.model_id, "runs": runs}
        del index
    report["command"] = "python -m benchmarks.large " + " ".join(argv if argv is not None else sys.argv[1:])
    model = "hashing" if "hashing" in report["model"] else "e5"
    out = RESULTS / f"large-{args.step}-{report['stories']}-{model}.json"
    RESULTS.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

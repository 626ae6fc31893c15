"""What a write costs as the collection grows, apart from the model: `python -m benchmarks.writes [SIZES ...]`.

Each size gets a collection of synthetic stories whose words are drawn from the Reuters shards' own word
frequencies (so BM25's statistics are those of real news at any size), indexed with the `hashing` stand-in
model (so the model's share, which does not depend on the collection, stays out of the figures) and no map.
Then, on that index, in one run:
- adds of 10 new stories each through `SearchService.add` (each commits one delta segment), timed;
- searches (hybrid, the 45 dev questions) with 1 % of the collection in delta segments, interleaved with the
  same searches on the same stories merged into one base (`compact`), medians compared;
- the merges themselves (deltas into one, and everything into a new base), timed;
- the index reopened from disk: its story count must be the count the writes left.
Writes benchmarks/results/writes.json.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from search import SearchService
from search.collection import Config, compact, index_stories, load_index, save_index
from search.corpus import Story, make_story
from search.embedding import HASHING, load_embedder

from .common import RESULTS, REUTERS, dev_questions, side_by_side, summary

ADDS, ADD_SIZE = 20, 10
DELTA_SHARE = 0.01  # of the collection, in deltas, for the search comparison
_WORD = re.compile(r"[a-z]{3,}")


def vocabulary() -> tuple[np.ndarray, np.ndarray]:
    """Words of the Reuters shards and their frequencies (probabilities), most frequent first."""
    counts: Counter[str] = Counter()
    for shard in sorted(REUTERS.glob("corpus-*.jsonl")):
        for line in shard.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            counts.update(_WORD.findall(f"{record.get('title', '')} {record.get('text', '')}".lower()))
    words, freq = zip(*counts.most_common())
    p = np.asarray(freq, dtype=np.float64)
    return np.asarray(words), p / p.sum()


def stories(n: int, words: np.ndarray, p: np.ndarray, seed: int, prefix: str) -> list[Story]:
    """n distinct stories of 8-word titles and 80-word bodies drawn from the word distribution."""
    rng = np.random.default_rng(seed)
    drawn = words[rng.choice(len(words), size=(n, 88), p=p)]
    return [make_story(f"{prefix} {i} " + " ".join(row[:8]), " ".join(row[8:]) + ".") for i, row in enumerate(drawn)]


def one_size(n: int, words: np.ndarray, p: np.ndarray) -> dict:
    embedder = load_embedder(HASHING)
    root = Path(tempfile.mkdtemp(prefix=f"bench-writes-{n}-")) / "index"
    started = time.perf_counter()
    save_index(index_stories(stories(n, words, p, 1, "Story"), embedder, Config(model=HASHING, map=False)), root)
    build_s = time.perf_counter() - started
    service = SearchService.open(root)
    engine = service.index.store.kind

    add_ms = []
    for i in range(ADDS):
        batch = stories(ADD_SIZE, words, p, 100 + i, f"Added {i}")
        started = time.perf_counter()
        service.add(batch)
        add_ms.append((time.perf_counter() - started) * 1000)

    bulk = max(ADD_SIZE, int(DELTA_SHARE * n) - ADDS * ADD_SIZE)
    for i in range(4):  # the rest of the 1 %, in a few deltas more
        service.add(stories(bulk // 4, words, p, 1000 + i, f"Bulk {i}"))
    segmented = service.index
    in_deltas = sum(len(s) for s in segmented.segments[1:])
    started = time.perf_counter()
    minor = compact(root, segmented, "minor")
    minor_s = time.perf_counter() - started
    started = time.perf_counter()
    major = compact(root, minor, "major")
    major_s = time.perf_counter() - started
    merged = SearchService(major, embedder)
    with_deltas = SearchService(segmented, embedder)
    questions = dev_questions()
    for svc in (merged, with_deltas):  # warm: every question's vector is cached, so only search is timed
        for q in questions:
            svc.search(q, 10)
    times = side_by_side({"with_deltas": lambda i: with_deltas.search(questions[i], 10),
                          "merged": lambda i: merged.search(questions[i], 10)}, len(questions), rounds=5)
    reopened = len(load_index(root))
    return {
        "stories": n, "engine": engine, "build_s": round(build_s, 1),
        "add_10_ms": summary(add_ms), "deltas": len(segmented.segments) - 1, "stories_in_deltas": in_deltas,
        "search_with_deltas": summary(times["with_deltas"]), "search_merged": summary(times["merged"]),
        "search_ratio_p50": round(statistics.median(times["with_deltas"]) / statistics.median(times["merged"]), 3),
        "minor_merge_s": round(minor_s, 2), "major_merge_s": round(major_s, 2),
        "count_after_writes": len(segmented), "count_reopened": reopened,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[20_000])
    sizes = parser.parse_args().sizes
    words, p = vocabulary()
    rows = []
    for n in sizes:
        row = one_size(n, words, p)
        rows.append(row)
        add = row["add_10_ms"]
        print(f"{row['stories']:>9,} stories ({row['engine']}): add of {ADD_SIZE} p50 {add['p50_ms']:.0f} ms"
              f" p99 {add['p99_ms']:.0f} ms; search with {row['stories_in_deltas']:,} stories in "
              f"{row['deltas']} deltas p50 {row['search_with_deltas']['p50_ms']:.1f} ms vs merged "
              f"{row['search_merged']['p50_ms']:.1f} ms (x{row['search_ratio_p50']}); merges {row['minor_merge_s']} s "
              f"(deltas) / {row['major_merge_s']} s (base); count {row['count_after_writes']:,} -> reopened "
              f"{row['count_reopened']:,}")
    RESULTS.mkdir(exist_ok=True)
    command = "python -m benchmarks.writes " + " ".join(map(str, sizes))
    (RESULTS / "writes.json").write_text(json.dumps({"command": command, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()

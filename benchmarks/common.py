"""Measuring helpers shared by the benchmark sections: percentiles, memory, texts, side-by-side timing."""
from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REUTERS = SHARED / "data" / "reuters21578"
DEV_QUERIES = SHARED / "eval" / "dev_queries.jsonl"
RESULTS = Path(__file__).resolve().parent / "results"


def summary(ms: list[float]) -> dict[str, float]:
    """Median and tail of a list of milliseconds."""
    a = np.asarray(ms, dtype=np.float64)
    return {"p50_ms": round(float(np.median(a)), 3), "p99_ms": round(float(np.percentile(a, 99)), 3), "n": len(a)}


def timed(fn: Callable[[], Any]) -> float:
    """Milliseconds one call of `fn` takes."""
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def side_by_side(calls: Mapping[str, Callable[..., Any]], count: int, rounds: int = 1) -> dict[str, list[float]]:
    """Time each call on items 0..count-1, interleaved so machine noise hits every contestant alike. A call takes
    the item's number (`...`: lambdas that bind their contestant as a default argument are welcome)."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for i in range(count):
            for name, call in calls.items():
                times[name].append(timed(functools.partial(call, i)))
    return times


def rss_mb() -> float:
    """This process's resident memory now (MB)."""
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def process_memory(pid: int) -> dict[str, Any]:
    """Memory of process `pid` and of each process it started, in MB, from /proc/PID/smaps_rollup: resident
    (RSS, shared pages counted in full), proportional (PSS, shared pages split among their sharers: these
    add up to what the processes take together) and unique (USS: what stopping the process would free)."""
    def one(p: int) -> dict[str, float]:
        fields = {}
        for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines()[1:]:
            name, value = line.split(":", 1)
            fields[name] = int(value.split()[0]) / 1024
        return {"rss_mb": round(fields["Rss"], 1), "pss_mb": round(fields["Pss"], 1),
                "uss_mb": round(fields["Private_Clean"] + fields["Private_Dirty"], 1),
                "anonymous_mb": round(fields["Anonymous"], 1)}

    children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    names = {c: Path(f"/proc/{c}/comm").read_text().strip() for c in children}
    return {"main": one(pid), "children": {names[c]: one(c) for c in children},
            "pss_total_mb": round(one(pid)["pss_mb"] + sum(one(c)["pss_mb"] for c in children), 1)}


def reuters_texts(limit: int | None = None) -> list[dict[str, Any]]:
    """Reuters-21578 records (research use only: read from ../shared, never copied into the repo)."""
    rows: list[dict[str, Any]] = []
    for path in sorted(REUTERS.glob("corpus-*.jsonl")):
        with path.open(encoding="utf-8") as f:
            for line in f:
                rows.append(json.loads(line))
                if limit and len(rows) >= limit:
                    return rows
    return rows


def dev_questions() -> list[str]:
    return [json.loads(line)["query"] for line in DEV_QUERIES.read_text(encoding="utf-8").splitlines() if line.strip()]


def live_vectors(index: Any) -> tuple[np.ndarray, np.ndarray]:
    """The engine keys and vectors of an index's live stories, across its segments."""
    rows = np.flatnonzero(index.live)
    return index.keys_at(rows), index.vectors_at(rows)

"""`python -m benchmarks` (= `make bench`): speed and scale figures, each beside its baseline in one run.

    .venv/bin/python -m benchmarks                       # everything (an hour or more on 2 busy cores)
    .venv/bin/python -m benchmarks --sections scale --sizes 100000 1000000
    .venv/bin/python -m benchmarks --quick               # small sizes, to check the harness

Writes benchmarks/results/perf-<UTC time>.json (and perf-latest.json) and scale.png (latency and recall
against collection size). Never run by `make test`. Sections: seeds (cold start, latency on the shipped
index), build (Reuters build throughput against the naive approach), embedding (backends, threads,
batch sizes), scale (synthetic collections up to 1M), milvus (the real engine beside FAISS), variants
(IVF, HNSW, each with and without SQ8, at one size).
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from .common import RESULTS, ROOT

SECTIONS = ("scale", "seeds", "milvus", "build", "embedding", "variants")
REUTERS_SIZE = 21_578


def seed_index() -> Path:
    """The repository's built index (`make index`), else a fresh build of seeds/ in a temporary folder."""
    from search.collection import build_index

    root = Path(os.environ.get("STORY_SEARCH_INDEX") or ROOT / "index")
    if not (root / "manifest.json").is_file():
        root = Path(tempfile.mkdtemp(prefix="bench-seeds-"))
        build_index([ROOT / "seeds"], root)
    return root


def base_vectors(index_dir: Path, extra: int) -> tuple[np.ndarray, Any]:
    """Real e5 story vectors (seeds plus `extra` Reuters stories) that the synthetic collections mix."""
    from search.retrieval import SearchService

    from .common import live_vectors, reuters_texts

    service = SearchService.open(index_dir)
    reuters = [f"{r.get('title', '')}. {r.get('text', '')}" for r in reuters_texts(extra)]
    vectors = np.vstack([live_vectors(service.index)[1], service.embedder.embed(reuters)])
    return vectors, service.embedder


def milvus(index_dir: Path, base: np.ndarray, size: int) -> dict[str, Any]:
    """Real Milvus (FLAT) against FAISS exact, per query, side by side in one process inside the namespace."""
    from search.retrieval import SearchService

    from .common import dev_questions, live_vectors, summary
    from .milvus_netns import run_probe, unavailable
    from .scale import synthetic

    reason = unavailable()
    if reason:
        return {"skipped": reason}
    service = SearchService.open(index_dir)
    queries = service.embedder.embed(dev_questions(), "query")
    out = {}
    cases = {"seeds": live_vectors(service.index),
             f"synthetic {size:,}": (np.arange(size, dtype=np.int64), synthetic(size, base, seed=1))}
    with tempfile.TemporaryDirectory(prefix="bench-milvus-") as tmp:
        for name, (keys, vectors) in cases.items():
            np.savez(Path(tmp) / "case.npz", keys=keys, vectors=vectors, queries=queries)
            run_probe(Path(tmp) / "case.npz", Path(tmp) / "out.npz", timeout=1800)
            probe = np.load(Path(tmp) / "out.npz")
            out[name] = {"stories": len(keys), "server_start_s": round(float(probe["start_s"]), 1),
                         "milvus": summary(probe["ms_milvus"].tolist()),
                         "faiss-flat": summary(probe["ms_faiss"].tolist())}
    return out


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["stories"] for r in rows]
    approx = rows[0]["approximate"]
    fig, (lat, rec) = plt.subplots(1, 2, figsize=(11, 4))
    for label, get in (("store: exact flat", lambda r: r["store"]["faiss-flat"]["p50_ms"]),
                       (f"store: {approx}", lambda r: r["store"][approx]["p50_ms"]),
                       ("service (dense, with query embedding)", lambda r: r["service"]["service"]["p50_ms"]),
                       ("HTTP", lambda r: r["service"]["http"]["p50_ms"]),
                       ("naive: MiniLM encode + IndexFlatIP", lambda r: r["service"]["naive"]["p50_ms"])):
        lat.plot(sizes, [get(r) for r in rows], marker="o", label=label)
    lat.set(xscale="log", yscale="log", xlabel="stories", ylabel="p50 latency (ms)", title="Query latency (1 thread)")
    lat.legend(fontsize=7)
    rec.plot(sizes, [r["store"][approx]["recall_at_10"] for r in rows], marker="o", label=approx)
    rec.axhline(0.95, color="grey", linestyle="--", label="target 0.95")
    rec.set(xscale="log", ylim=(0.8, 1.01), xlabel="stories", ylabel="recall@10 vs exact", title="Recall")
    rec.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--sizes", nargs="+", type=int, default=[REUTERS_SIZE, 100_000, 1_000_000])
    parser.add_argument("--build-stories", type=int, default=300, help="Reuters stories in the build race")
    parser.add_argument("--embed-stories", type=int, default=64, help="Reuters stories per embedding measurement")
    parser.add_argument("--base-stories", type=int, default=300, help="Reuters stories embedded as synthetic bases")
    parser.add_argument("--milvus-size", type=int, default=100_000)
    parser.add_argument("--variants-size", type=int, default=100_000, help="collection size for the engine comparison")
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the harness, not the machine")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.build_stories, args.embed_stories, args.base_stories, args.milvus_size, args.variants_size = \
            [5_000, 20_000], 40, 16, 40, 5_000, 5_000
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    report: dict[str, Any] = {"started": stamp, "cpus": os.cpu_count(), "load_avg_at_start": os.getloadavg(),
                              "args": vars(args)}
    index_dir = seed_index()
    path = RESULTS / f"perf-{stamp}.json"

    def save() -> None:
        text = json.dumps(report, indent=2, default=float)
        path.write_text(text)
        (RESULTS / "perf-latest.json").write_text(text)

    base = embedder = None
    if {"scale", "milvus", "variants"} & set(args.sections):
        base, embedder = base_vectors(index_dir, args.base_stories)
    for section in SECTIONS:  # the headline figures first: a run cut short keeps them
        if section not in args.sections:
            continue
        if section == "scale":
            from . import scale
            assert base is not None
            report["scale"] = scale.run(base, args.sizes, embedder)
            plot(report["scale"], RESULTS / "scale.png")
        elif section == "seeds":
            from . import seeds
            report["seeds"] = seeds.run(index_dir)
        elif section == "milvus":
            assert base is not None
            report["milvus"] = milvus(index_dir, base, args.milvus_size)
        elif section == "build":
            from . import build
            report["build"] = build.run(args.build_stories)
        elif section == "embedding":
            from . import embedding
            report["embedding"] = embedding.run(args.embed_stories)
        elif section == "variants":
            from . import variants
            assert base is not None
            report["variants"] = variants.run(base, args.variants_size, embedder)
        save()
    report["finished"] = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    save()
    print(path)


if __name__ == "__main__":
    main()

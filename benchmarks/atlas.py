"""The map's layout: openTSNE settings and cheaper projections, for time and for neighbourhoods kept.

    python -m benchmarks.atlas                 # 5,000 real e5 Reuters vectors and 100,000 synthetic ones
    python -m benchmarks.atlas --sizes 5000 --methods "openTSNE 250+500 iterations" "openTSNE 125+250 iterations" \
        --rounds 2                             # the build's layout before and now, interleaved

At 5,000 stories the vectors are real: the first 5,000 Reuters stories embedded by the default model (kept
under the results folder's `.cache`, so a re-run skips the embedding). At 100,000 they are synthetic
mixtures of those (`benchmarks.scale.synthetic`), as in the scale benchmark; past `atlas.FIT_LIMIT` every
method is fitted on the same sample and places the rest by neighbours, as a build does.

Neighbourhoods kept: for 2,000 sampled stories, the share of their 10 nearest stories by cosine that are
also among their 10 nearest on the map (1.0: every neighbourhood kept), and sklearn's trustworthiness on
those 2,000 stories alone. Every method runs on the same machine in one process, one after the other; the
load average is recorded with each.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .common import RESULTS, reuters_texts

SAMPLE = 2_000
K = 10


def real_vectors(n: int) -> np.ndarray:
    """The first `n` Reuters stories as e5 vectors (cached beside the results: they take minutes to embed)."""
    cache = RESULTS / ".cache" / f"reuters-e5-{n}.npy"
    if cache.is_file():
        return np.load(cache)
    from search.embedding import load_embedder

    rows = reuters_texts(n)
    vectors = load_embedder("e5").embed([f"{r.get('title', '')}\n{r.get('text', '')}".strip() for r in rows])
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return vectors


def nearest(points: np.ndarray, queries: np.ndarray, k: int, cosine: bool) -> np.ndarray:
    """Rows of each query's k nearest points (itself left out), exact, in chunks."""
    import faiss

    index = faiss.IndexFlatIP(points.shape[1]) if cosine else faiss.IndexFlatL2(points.shape[1])
    index.add(np.ascontiguousarray(points, dtype=np.float32))
    _, found = index.search(np.ascontiguousarray(points[queries], dtype=np.float32), k + 1)
    return np.array([[r for r in row if r != q][:k] for q, row in zip(queries.tolist(), found.tolist())])


def kept(vectors: np.ndarray, coords: np.ndarray, seed: int = 0) -> dict[str, float]:
    from sklearn.manifold import trustworthiness

    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(len(vectors), min(SAMPLE, len(vectors)), replace=False))
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    by_meaning = nearest(unit, sample, K, cosine=True)
    on_map = nearest(coords, sample, K, cosine=False)
    share = float(np.mean([len(set(a) & set(b)) / K for a, b in zip(by_meaning.tolist(), on_map.tolist())]))
    trust = float(trustworthiness(unit[sample], coords[sample], n_neighbors=K, metric="cosine"))
    return {"neighbours_kept_at_10": round(share, 3), "trustworthiness_sample": round(trust, 3)}


def tsne(**settings: Any) -> Callable[[np.ndarray], np.ndarray]:
    def run(points: np.ndarray) -> np.ndarray:
        from openTSNE import TSNE

        n = len(points)
        options = {"n_components": 2, "perplexity": min(30.0, (n - 1) / 3), "metric": "cosine", "n_iter": 500,
                   "n_jobs": 1, "random_state": 0, "verbose": False, **settings}
        return np.asarray(TSNE(**options).fit(points), dtype=np.float32)
    return run


def pca2(points: np.ndarray) -> np.ndarray:
    from sklearn.decomposition import PCA

    return PCA(2, random_state=0).fit_transform(points).astype(np.float32)


BEFORE = "openTSNE 250+500 iterations (openTSNE's default; the build's before)"
NOW = "openTSNE 125+250 iterations (the build's now, atlas.project)"


def methods() -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    from search.collection._atlas import project

    def before(points: np.ndarray) -> np.ndarray:
        n = len(points)
        return tsne(n_jobs=1 if n < 10_000 else -1, negative_gradient_method="auto")(points)

    return {
        BEFORE: before,
        NOW: project,
        "openTSNE 250+500 iter, FFT, 2 threads": tsne(negative_gradient_method="fft", n_jobs=2),
        "openTSNE 250+250 iter, FFT, 2 threads": tsne(negative_gradient_method="fft", n_jobs=2, n_iter=250),
        "openTSNE 125+250 iter, FFT, 2 threads": tsne(negative_gradient_method="fft", n_jobs=2, n_iter=250,
                                                     early_exaggeration_iter=125),
        "openTSNE 125+250 iter, FFT, 2 threads, perplexity 15": tsne(
            negative_gradient_method="fft", n_jobs=2, n_iter=250, early_exaggeration_iter=125, perplexity=15),
        "openTSNE 125+125 iter, FFT, 2 threads": tsne(negative_gradient_method="fft", n_jobs=2, n_iter=125,
                                                     early_exaggeration_iter=125),
        "PCA to 2 dimensions": pca2,
    }


def run_size(vectors: np.ndarray, chosen: list[str] | None = None, rounds: int = 1) -> dict[str, Any]:
    from search.collection._atlas import FIT_LIMIT, _reduce, place

    reduced = _reduce(vectors, 0)
    rng = np.random.default_rng(0)
    n = len(vectors)
    fit = np.sort(rng.choice(n, FIT_LIMIT, replace=False)) if n > FIT_LIMIT else np.arange(n)
    rest = np.setdiff1d(np.arange(n), fit)
    out: dict[str, Any] = {}
    for _ in range(rounds):  # methods interleaved round by round, so load hits each alike
        for name, method in methods().items():
            if chosen and not any(name.startswith(c) for c in chosen):
                continue
            load = os.getloadavg()[0]
            started = time.perf_counter()
            coords = np.zeros((n, 2), dtype=np.float32)
            coords[fit] = method(reduced[fit])
            laid = round(time.perf_counter() - started, 1)
            if len(rest):
                coords[rest] = place(reduced[fit], coords[fit], np.zeros(len(fit), np.int32), reduced[rest])[0]
            seconds = time.perf_counter() - started
            row = out.setdefault(name, {"seconds": [], "layout_seconds": [], "load_avg": [], **kept(vectors, coords)})
            row["seconds"].append(round(seconds, 1))
            row["layout_seconds"].append(laid)
            row["load_avg"].append(round(load, 2))
            print(f"{n:>7,} {name:<58} {seconds:7.1f} s  {row}", flush=True)
    return out


def main(argv: list[str] | None = None) -> None:
    from .scale import synthetic

    parser = argparse.ArgumentParser(prog="python -m benchmarks.atlas", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[5_000, 100_000])
    parser.add_argument("--methods", nargs="*", default=None, help="the start of each method's name (default: all)")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(argv)
    base = real_vectors(5_000)
    report: dict[str, Any] = {"cpus": os.cpu_count(), "load_avg_at_start": os.getloadavg(), "sizes": {}}
    for size in args.sizes:
        vectors = base[:size] if size <= len(base) else synthetic(size, base, seed=1)
        report["sizes"][str(size)] = run_size(vectors, args.methods, args.rounds)
    (RESULTS / "atlas.json").write_text(json.dumps(report, indent=2) + "\n")
    print(RESULTS / "atlas.json")


if __name__ == "__main__":
    main()

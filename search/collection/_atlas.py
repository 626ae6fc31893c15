"""A map of the collection: every story a point placed by meaning, grouped into topics named by their words.

Computed when an index is built, never while someone waits: a t-SNE layout of the story vectors (openTSNE,
whose FFT-accelerated gradients keep tens of thousands of stories within a build step), topics found as
regions of that layout (k-means on the 2-D points, so each topic is one patch of the map its label can sit
on), and each topic labelled with its most telling words, read from the BM25 weights the lexical index
already holds. Stories added later are placed without recomputing anything: at the similarity-weighted
middle of their nearest neighbours by vector, in their neighbours' most common topic (`place_among`), and a
merge keeps every story's point.

Pure functions over arrays; each segment saves its stories' points as one .npz file (no pickle); only the
base, where the layout was made, holds the topics' labels.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..corpus import fold_accents
from ._postings import term

FILE = "atlas.npz"
FIT_LIMIT = 20_000  # stories a layout is fitted on; beyond, the rest are placed by their neighbours
NEIGHBOURS = 5  # neighbours a placed story is put among
MAX_TOPICS = 20  # more colours than this can't be told apart
LABEL_WORDS = 3
TSNE_FROM = 8  # fewer stories than this are laid out by PCA: t-SNE needs a neighbourhood to work with
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Atlas:
    """Row-aligned with the index's stories: `coords` in [0, 1]², `topics` indexes `labels`."""

    coords: np.ndarray  # (n, 2) float32
    topics: np.ndarray  # (n,) int32
    labels: tuple[str, ...]  # per topic: its telling words, "smuggling · police · training"
    fitted: int  # stories the layout was fitted on; the others were placed by their neighbours

    def __len__(self) -> int:
        return len(self.topics)

    @classmethod
    def joined(cls, parts: Sequence[Atlas], labels: tuple[str, ...], fitted: int) -> Atlas:
        """One atlas from several, rows in order (a collection's segments, a merge's)."""
        coords = np.concatenate([p.coords for p in parts]) if parts else np.zeros((0, 2), np.float32)
        topics = np.concatenate([p.topics for p in parts]) if parts else np.zeros(0, np.int32)
        return cls(coords.astype(np.float32), topics.astype(np.int32), labels, fitted)

    def rows(self, keep: np.ndarray) -> Atlas:
        """This atlas for the rows `keep` (a mask or row numbers) only."""
        return Atlas(self.coords[keep], self.topics[keep], self.labels, self.fitted)

    def save(self, folder: Path) -> list[str]:
        np.savez(folder / FILE, coords=self.coords.astype(np.float32), topics=self.topics.astype(np.int32),
                 labels=np.array(self.labels, dtype=str), fitted=np.array(self.fitted))
        return [FILE]

    @classmethod
    def load(cls, folder: Path, size: int) -> Atlas:
        with np.load(folder / FILE, allow_pickle=False) as saved:
            atlas = cls(saved["coords"], saved["topics"], tuple(str(x) for x in saved["labels"]), int(saved["fitted"]))
        if atlas.coords.shape != (size, 2) or len(atlas.topics) != size:
            raise ValueError(f"{FILE} holds {len(atlas.topics)} points for {size} stories")
        return atlas


def lay_out(vectors: np.ndarray, weights: Any, terms: Sequence[str], texts: Sequence[str], seed: int = 0) -> Atlas:
    """The map of a whole collection: layout, topics and their labels (`weights`: BM25, stories x terms)."""
    n = len(vectors)
    reduced = _reduce(np.asarray(vectors, dtype=np.float32), seed)
    rng = np.random.default_rng(seed)
    fit = np.sort(rng.choice(n, FIT_LIMIT, replace=False)) if n > FIT_LIMIT else np.arange(n)
    coords = np.zeros((n, 2), dtype=np.float32)
    coords[fit] = _normalise(project(reduced[fit], seed))
    topics = np.zeros(n, dtype=np.int32)
    topics[fit] = find_topics(coords[fit], topic_count(len(fit)), seed)
    rest = np.setdiff1d(np.arange(n), fit)
    if len(rest):
        coords[rest], topics[rest] = place(reduced[fit], coords[fit], topics[fit], reduced[rest])
    return Atlas(coords, topics, topic_labels(weights, terms, texts, topics), len(fit))


def _reduce(vectors: np.ndarray, seed: int) -> np.ndarray:
    """Unit vectors cut to their 50 main directions (PCA): what t-SNE is usually given, and 8x less to compare."""
    from sklearn.decomposition import PCA

    if not len(vectors):
        return vectors
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    components = min(50, len(unit), unit.shape[1])
    reduced = PCA(components, random_state=seed).fit_transform(unit) if len(unit) > 1 else unit[:, :components]
    return np.ascontiguousarray(reduced, dtype=np.float32)


def project(points: np.ndarray, seed: int = 0) -> np.ndarray:
    """2-D layout keeping each story near the stories most like it (t-SNE; PCA for a handful of stories)."""
    n = len(points)
    if n < TSNE_FROM:
        flat = np.zeros((n, 2), dtype=np.float32)
        flat[:, : min(2, points.shape[1])] = points[:, :2] if n > 1 else 0
        return flat
    from openTSNE import TSNE

    # Barnes-Hut below 10,000 points, FFT-interpolated gradients above (openTSNE's "auto"); threads only
    # where they pay for their start-up. Half openTSNE's default iterations (125 exaggerated, 250 after,
    # from its PCA start): half the layout time for neighbourhoods kept as well within noise
    # (benchmarks/atlas.py, benchmarks/README.md "The map's layout").
    tsne = TSNE(n_components=2, perplexity=min(30.0, (n - 1) / 3), metric="cosine", early_exaggeration_iter=125,
                n_iter=250, n_jobs=1 if n < 10_000 else -1, random_state=seed, verbose=False)
    return np.asarray(tsne.fit(points), dtype=np.float32)


def _normalise(points: np.ndarray) -> np.ndarray:
    """Into [0, 1]² keeping the aspect ratio, so distances on screen stay comparable across the axes."""
    if not len(points):
        return points
    low = points.min(axis=0)
    span = float((points.max(axis=0) - low).max()) or 1.0
    out = (points - low) / span
    return (out + (1 - out.max(axis=0)) / 2).astype(np.float32)  # centred on the shorter axis


def topic_count(n: int) -> int:
    """About one topic per 50 stories at first, growing with the square root, at most MAX_TOPICS."""
    return int(max(1, min(MAX_TOPICS, round(np.sqrt(n / 2)), n)))


def find_topics(coords: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Topic of each point: k-means regions of the layout, numbered from the largest."""
    if k <= 1 or len(coords) <= k:
        return np.zeros(len(coords), dtype=np.int32)
    from sklearn.cluster import KMeans

    found = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(coords)
    by_size = np.argsort(-np.bincount(found, minlength=k), kind="stable")
    return np.argsort(by_size).astype(np.int32)[found]


def topic_labels(weights: Any, terms: Sequence[str], texts: Sequence[str], topics: np.ndarray) -> tuple[str, ...]:
    """Each topic's most telling words: the terms whose share of the topic's BM25 weight most exceeds their
    share of the whole collection's (each term's contribution to the KL divergence of topic from collection),
    shown as the word the topic's stories most often spell that term with."""
    from scipy.sparse import csr_matrix

    k = int(topics.max()) + 1 if len(topics) else 0
    n = weights.shape[0]
    membership = csr_matrix((np.ones(n), (topics[:n], np.arange(n))), shape=(k, n))
    mass = np.asarray((membership @ weights).todense(), dtype=np.float64)  # topic x term
    usable = np.array([len(t) > 2 and not t.isdigit() for t in terms])
    overall = mass.sum(axis=0) / max(mass.sum(), 1e-12)
    share = mass / np.maximum(mass.sum(axis=1, keepdims=True), 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        telling = np.where((share > 0) & usable, share * np.log(share / np.maximum(overall, 1e-12)), -np.inf)
    chosen = [[terms[t] for t in np.argsort(-row)[:LABEL_WORDS] if np.isfinite(row[t]) and row[t] > 0]
              for row in telling]
    spelling = _spellings(texts, topics, {t for words in chosen for t in words})
    return tuple(" · ".join(spelling.get((c, t), t) for t in words) for c, words in enumerate(chosen))


def _spellings(texts: Sequence[str], topics: np.ndarray, wanted: set[str]) -> dict[tuple[int, str], str]:
    """(topic, term) -> the word its stories most often write for that term ("smugg" -> "smuggling")."""
    counts: dict[tuple[int, str], Counter[str]] = {}
    for text, topic in zip(texts, topics.tolist()):
        for word in _WORD.findall(text.lower()):
            t = term(fold_accents(word))
            if t in wanted and not word.isdigit():
                counts.setdefault((topic, t), Counter())[word] += 1
    return {key: c.most_common(1)[0][0] for key, c in counts.items()}


def place(known: np.ndarray, coords: np.ndarray, topics: np.ndarray, new: np.ndarray,
          k: int = NEIGHBOURS) -> tuple[np.ndarray, np.ndarray]:
    """Points for `new` vectors on a map of `known` ones: among their k nearest (by cosine), weighted by
    similarity, in the topic most of them are in."""
    k = min(k, len(known))
    unit = known / np.maximum(np.linalg.norm(known, axis=1, keepdims=True), 1e-12)
    out_coords = np.zeros((len(new), 2), dtype=np.float32)
    out_topics = np.zeros(len(new), dtype=np.int32)
    for start in range(0, len(new), 1024):  # bounded memory: 1,024 x known similarities at a time
        batch = new[start:start + 1024]
        sims = (batch / np.maximum(np.linalg.norm(batch, axis=1, keepdims=True), 1e-12)) @ unit.T
        nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        weight = np.maximum(np.take_along_axis(sims, nearest, axis=1), 1e-6)
        middle = (coords[nearest] * weight[..., None]).sum(1) / weight.sum(1, keepdims=True)
        out_coords[start:start + len(batch)] = middle
        out_topics[start:start + len(batch)] = [np.bincount(row).argmax() for row in topics[nearest]]
    return out_coords, out_topics


def place_among(coords: np.ndarray, topics: np.ndarray, similarities: np.ndarray) -> tuple[np.ndarray, int]:
    """A new story's point among its nearest stories' (`coords`, `topics`, their cosines to it): their
    similarity-weighted middle, in the topic most of them are in."""
    weight = np.maximum(similarities, 1e-6)
    middle = (coords * weight[:, None]).sum(0) / weight.sum()
    return middle.astype(np.float32), int(np.bincount(topics).argmax())


def sample_rows(topics: np.ndarray, limit: int, seed: int = 0) -> np.ndarray:
    """At most `limit` rows, drawn from each topic in proportion to its size (all rows when there are fewer)."""
    n = len(topics)
    if n <= limit:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    picked = []
    for topic in np.unique(topics):
        rows = np.flatnonzero(topics == topic)
        picked.append(rng.choice(rows, max(1, round(limit * len(rows) / n)), replace=False))
    return np.sort(np.concatenate(picked))[:limit]


def timeline(dates: np.ndarray) -> dict[str, Any]:
    """Stories per period across the collection's dated span: days for a span of weeks, months for one of
    years, years beyond; every period in the span is listed, empty ones too. `dates` is datetime64[D]."""
    dated = dates[~np.isnat(dates)]
    undated = int(len(dates) - len(dated))
    if not len(dated):
        return {"unit": None, "bins": [], "undated": undated}
    first, last = dated.min(), dated.max()
    months = (last.astype("datetime64[M]") - first.astype("datetime64[M]")).astype(int) + 1
    unit = "D" if (last - first).astype(int) <= 45 else "M" if months <= 72 else "Y"
    periods = dated.astype(f"datetime64[{unit}]")
    start = periods.min()
    counts = np.bincount((periods - start).astype(int))
    bins = []
    for i, count in enumerate(counts.tolist()):
        begin = start + i
        end = (begin + 1).astype("datetime64[D]") - 1
        bins.append({"start": str(begin.astype("datetime64[D]")), "end": str(end), "count": count})
    return {"unit": unit, "bins": bins, "undated": undated}

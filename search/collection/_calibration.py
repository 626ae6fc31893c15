"""The collection's own cosine scale, measured when it is built and kept with it.

A raw cosine means nothing on its own: e5 puts unrelated texts at 0.75-0.85 and MiniLM near 0.2, and the
best cosine an unrelated question reaches grows with the collection (more stories, more near misses). So
each index measures two levels against its own stories and keeps them:

- the null level, per language: the median best cosine of shipped off-topic probe questions (`probes.txt`:
  recipes, pets, sport ... in English and Spanish) over the collection, what "unrelated" scores here. The
  median shrugs off the few probes a collection happens to be about;
- the positive level: the median best cosine of a sample of the collection's own titles asked as
  questions, what "this story" scores here.

The probes' and titles' vectors are kept in the base segment, so every segment can record the best cosine
each of them reaches among its own stories without calling the model; the collection's levels are the
medians of the best over all segments. A write moves them by its own stories at no model cost; stories
deleted still count until a merge rewrites their segment (a median barely moves for a few).

Where two models read the stories (`embedding.PairedEmbedder`), each has its own scale: their cosines are
not comparable (e5 puts unrelated texts near 0.8, an English paraphrase model near 0.1), so every level is
measured per model on that model's part of the vectors.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._environment import cache_root
from ..corpus import ENGLISH, Story, has_content, language, majority_language
from ..embedding import Embedder, discard_cached, ensure_cached, split

FILE = "calibration.npz"
PROBES = Path(__file__).with_name("probes.txt")
PROBE_VECTORS = "probes.npy"
TITLES = 200  # titles sampled for the positive level: enough for a steady median, few to embed
TITLE = "title"  # the `kinds` entry of a sampled title; a probe's is its language
BATCH = 4096  # stories scored against the queries at once, bounding memory at any collection size


def probe_questions() -> list[str]:
    lines = PROBES.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def probe_vectors(embedder: Embedder, probes: list[str]) -> np.ndarray:
    """The probes embedded as questions, once per model and probe list: kept in the model cache
    (checksummed, published whole), in a folder named by the model id and the probes' text.

    A model id can outlive the model (an encoder converted again, a local model folder overwritten), so the
    first probe is embedded again on every use and the cached vectors are rebuilt when it differs."""
    digest = hashlib.sha256("\n".join([embedder.model_id, *probes]).encode("utf-8")).hexdigest()[:16]
    folder = cache_root() / "probe-vectors" / digest

    def build(tmp: Path) -> dict:
        np.save(tmp / PROBE_VECTORS, embedder.embed(probes, kind="query"), allow_pickle=False)
        return {"model": embedder.model_id, "probes": len(probes)}

    check = embedder.embed(probes[:1], kind="query")[0]
    for _ in range(2):
        ensure_cached(folder, build, (PROBE_VECTORS,))
        vectors = np.load(folder / PROBE_VECTORS, allow_pickle=False)
        if vectors.shape == (len(probes), embedder.dim) and np.allclose(vectors[0], check, atol=1e-4):
            return vectors.astype(np.float32)
        discard_cached(folder)
    raise RuntimeError(f"the probe vectors cached in {folder} keep disagreeing with {embedder.model_id}")


def best_cosines(queries: np.ndarray, vectors: np.ndarray, dims: tuple[int, ...]) -> np.ndarray:
    """(models, queries): the best cosine each query reaches among `vectors` by each model's part of the vectors
    (-inf when there are none)."""
    best = np.full((len(dims), len(queries)), -np.inf, dtype=np.float32)
    for start in range(0, len(vectors), BATCH):
        block = np.asarray(vectors[start:start + BATCH], dtype=np.float32)
        for c, (part, query) in enumerate(zip(split(block, dims), split(queries, dims))):
            best[c] = np.maximum(best[c], (part @ query.T).max(axis=0))
    return best


@dataclass(frozen=True)
class Calibration:
    """One segment's part: the best cosine of every probe and sampled title among its stories; a base also
    keeps the probes' and titles' vectors and the collection's language."""

    best: np.ndarray  # (models, q) float32
    queries: np.ndarray | None = None  # (q, dim) float32: probes then titles (base only)
    texts: np.ndarray | None = None  # (q,) the probes' and titles' text (base only)
    kinds: np.ndarray | None = None  # (q,) a probe's language or TITLE (base only)
    language: str = ENGLISH  # the stories' language (meaningful in the base)
    dims: tuple[int, ...] = ()  # each model's width in the vectors (base only)

    @classmethod
    def measure(cls, stories: list[Story], vectors: np.ndarray, embedder: Embedder,
                previous: Calibration | None = None) -> Calibration:
        """A base's calibration: the probes and a seeded sample of titles embedded as questions, but for those
        `previous` (a base of the same model) already embedded."""
        titled = [i for i, s in enumerate(stories) if has_content(s.title)]
        picks = np.random.default_rng(0).permutation(len(titled))[:TITLES]
        titles = [stories[titled[i]].title for i in sorted(picks.tolist())]
        return cls.of_titles(titles, majority_language([s.text for s in stories]), vectors, embedder, previous)

    @classmethod
    def of_titles(cls, titles: list[str], language_: str, vectors: np.ndarray, embedder: Embedder,
                  previous: Calibration | None = None) -> Calibration:
        """`measure` with the sample of titles already drawn and the stories' language already read (a base
        written a chunk at a time draws them as the stories go by)."""
        probes = probe_questions()
        texts = [*probes, *titles]
        known = dict(zip(previous.texts.tolist(), previous.queries)) \
            if previous is not None and previous.texts is not None and previous.queries is not None else {}
        if any(p not in known for p in probes):
            known.update(zip(probes, probe_vectors(embedder, probes)))
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        known.update(zip(missing, embedder.embed(missing, kind="query") if missing else []))
        queries = np.stack([known[t] for t in texts]).astype(np.float32)
        kinds = np.array([*map(language, probes), *[TITLE] * len(titles)])
        dims = embedder.dims
        return cls(best_cosines(queries, vectors, dims), queries, np.array(texts), kinds, language_, dims)

    def over(self, vectors: np.ndarray, base: bool = False) -> Calibration:
        """The calibration of a segment of `vectors`, measured with this base's queries (a delta's, or with
        `base` the base a merge writes)."""
        assert self.queries is not None, "only a base holds the queries"
        best = best_cosines(self.queries, vectors, self.dims)
        return Calibration(best, self.queries, self.texts, self.kinds, self.language, self.dims) if base \
            else Calibration(best)

    def save(self, folder: Path) -> list[str]:
        arrays = {"best": self.best}
        if self.queries is not None and self.texts is not None and self.kinds is not None:
            arrays |= {"queries": self.queries, "texts": self.texts, "kinds": self.kinds,
                       "language": np.array(self.language), "dims": np.array(self.dims, dtype=np.int64)}
        np.savez(folder / FILE, allow_pickle=False, **arrays)
        return [FILE]

    @classmethod
    def load(cls, folder: Path, base: bool, dim: int) -> Calibration:
        """A segment's calibration; ValueError when the file does not hold what a segment's should."""
        with np.load(folder / FILE, allow_pickle=False) as data:
            best = np.asarray(data["best"], dtype=np.float32)
            if best.ndim == 1:  # written before indexes could hold two models' vectors: one model's
                best = best[None, :]
            if best.ndim != 2:
                raise ValueError(f"{FILE} holds no table of best cosines per model")
            if not base:
                return cls(best)
            queries, texts, kinds, lang = data["queries"], data["texts"], data["kinds"], str(data["language"])
            dims = tuple(int(d) for d in np.asarray(data["dims"]).tolist()) if "dims" in data else (dim,)
        q = best.shape[1]
        if queries.dtype != np.float32 or queries.shape != (q, dim) or kinds.shape != (q,) or texts.shape != (q,) \
                or kinds.dtype.kind != "U" or texts.dtype.kind != "U" or sum(dims) != dim or len(dims) != len(best):
            raise ValueError(f"{FILE} holds queries that do not match its {q} best cosines")
        return cls(best, queries, texts, kinds, lang, dims)


@dataclass(frozen=True)
class Scale:
    """A collection's cosine levels, per model of its vectors: what unrelated questions score (per language)
    and what its own titles score. `relevance` puts a model's cosine on that scale."""

    null: tuple[dict[str, float], ...]  # per model
    positive: tuple[float, ...]  # per model
    language: str  # the stories' language
    dims: tuple[int, ...]  # each model's width in the vectors

    @classmethod
    def of(cls, parts: list[Calibration]) -> Scale:
        """The levels of a collection made of these segments (the base first)."""
        base = parts[0]
        assert base.kinds is not None, "the first segment is the base"
        best = np.max(np.stack([p.best for p in parts]), axis=0)
        nulls, positives = [], []
        for model in best:
            nulls.append({str(k): float(np.median(model[base.kinds == k])) for k in np.unique(base.kinds)
                          if k != TITLE})
            titles = model[base.kinds == TITLE]
            positives.append(float(np.median(titles)) if len(titles) else 1.0)
        return cls(tuple(nulls), tuple(positives), base.language, base.dims)

    def relevance(self, cosines: np.ndarray, lang: str, model: int = 0) -> np.ndarray:
        """0 at this collection's unrelated-question level for `lang` by `model`, 1 at its own-title level,
        clipped.

        Only differences of cosines of one model over one collection enter, so it means the same for any
        model and any collection, and a backend whose cosines shift a little shifts it little."""
        nulls = self.null[model]
        null = nulls.get(lang, nulls.get(ENGLISH, 0.0))
        span = max(self.positive[model] - null, 1e-6)
        return np.clip((np.asarray(cosines, dtype=np.float64) - null) / span, 0.0, 1.0)

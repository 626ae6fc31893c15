"""`SearchService`: the one search API that the CLI, the HTTP API and the web UI all hold.

It owns a loaded `StoryIndex` and its model and knows nothing of HTTP or Gradio. Readers never lock:
each call takes the current index once (one attribute read), so an update that swaps in a new index
mid-call cannot hand it a mix of old and new.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np

from ..collection import StoryIndex, add_cache_dir, commit, default_index_dir, open_index
from ..corpus import Story, clean_text
from ..embedding import Embedder
from ..errors import InvalidQueryError
from .answerable import TOP_STORIES, coverage, is_answerable
from .diversify import mmr
from .filters import Filters
from .fusion import RELATED_DENSE_WEIGHT
from .ranking import Ranking, rank
from .results import Hit, SearchResult
from .snippets import make_snippet

Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[str, ...] = get_args(Mode)
MAX_QUERY_CHARS = 2000
MAX_K = 100


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
        self.fusion = "convex"  # how hybrid mode fuses its channels, one of FUSIONS ("rrf" for comparison)

    @classmethod
    def open(cls, index_dir: Path | None = None, model: str | None = None) -> SearchService:
        """Load the index at `index_dir` with the model it was built with (or refuse `model` if different)."""
        root = Path(index_dir or default_index_dir())
        index, embedder = open_index(root, model)
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

    def search(self, question: str, k: int = 10, mode: str = "hybrid", filters: Filters = Filters(), *,
               diversify: bool = False) -> SearchResult:
        """The k stories that best answer `question`; `diversify` reorders them by MMR (topic questions)."""
        started = time.perf_counter()
        question, k = check_question(question), check_k(k)
        if mode not in MODES:
            raise InvalidQueryError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        index = self._index
        allowed = filters.allowed_rows(index.columns)
        if allowed is not None and not len(allowed):
            return SearchResult(question, [], False, (time.perf_counter() - started) * 1000, mode)
        vector = self.query_vector(question) if mode != "lexical" else None
        ranking = rank(index, question, vector, mode, allowed=allowed, fusion=self.fusion)
        hits = self._hits(index, ranking, k, question, diversify)
        word_coverage = max((coverage(index.lexical, question, h.story.text) for h in hits[:TOP_STORIES]), default=0.0)
        answerable = bool(hits) and is_answerable(index.model_id, ranking.dense_top, word_coverage)
        return SearchResult(question, hits, answerable, (time.perf_counter() - started) * 1000, mode)

    def related(self, story_id: str, k: int = 5) -> list[Hit]:
        """Stories about related initiatives: the story's own text is the query, through the same hybrid
        ranking as a search; never the story itself, nor a copy of it with the same text."""
        k = check_k(k)
        index = self._index
        row = index.row(story_id)
        me = index.stories[row]
        twins = np.asarray([r for r, s in enumerate(index.stories) if r == row or s.content_hash == me.content_hash])
        ranking = rank(index, me.text, np.asarray(index.vectors[row], dtype=np.float32), "hybrid", exclude=twins,
                       dense_weight=RELATED_DENSE_WEIGHT, fusion=self.fusion)
        return self._hits(index, ranking, k, me.title, diversify=False)

    @staticmethod
    def _hits(index: StoryIndex, ranking: Ranking, k: int, question: str, diversify: bool) -> list[Hit]:
        """The first k of a ranking as hits (MMR-ordered over the first candidates when `diversify`)."""
        picks = np.arange(min(k, len(ranking)))
        if diversify:
            pool = min(len(ranking), max(3 * k, 30))  # diversity among the relevant few, not the whole list
            picks = mmr(ranking.scores[:pool], np.asarray(index.vectors[ranking.rows[:pool]]), k)
        hits = []
        for i in picks.tolist():
            story = index.stories[int(ranking.rows[i])]
            hits.append(Hit(story, float(ranking.scores[i]), make_snippet(question, story.title, story.body),
                            ranking.why[i]))
        return hits

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

    def undated_left_out(self, filters: Filters) -> int:
        """Stories `filters` leave out for having no date: the page says so, rather than let them vanish."""
        return filters.undated_left_out(self._index.columns)

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
    def add(self, stories: Sequence[Story], progress: bool = False, own_ids: Collection[str] = ()) -> list[str]:
        """Add or update stories, persist atomically (when the service has a directory), then swap in.

        `own_ids` are ids the caller gave (they update the story with that id, see `resolve_updates`).
        Returns the id each story is filed under: its own, or that of the story it updated."""
        with self._write_lock:
            index, ids = self._index.with_stories(stories, self.embedder, own_ids, cache_dir=self._add_cache,
                                                  progress=progress)
            self._commit(index)
            return ids

    def delete(self, story_ids: Sequence[str]) -> StoryIndex:
        with self._write_lock:
            index = self._index.without(story_ids, self.embedder)
            self._commit(index)
            return index

    @property
    def _add_cache(self) -> Path | None:
        return add_cache_dir(self.index_dir) if self.index_dir else None

    def _commit(self, index: StoryIndex) -> None:
        if self.index_dir:
            commit(index, self.index_dir, builds_on=self._index)
        self._index = index

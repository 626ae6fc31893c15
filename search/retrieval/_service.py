"""`SearchService`: the one search API that the CLI, the HTTP API and the web UI all hold.

It owns a loaded `StoryIndex` and its model and knows nothing of HTTP or Gradio. Readers never lock:
each call takes the current index once (one attribute read), so an update that swaps in a new index
mid-call cannot hand it a mix of old and new.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np

from ..collection import (
    MANIFEST,
    StoryIndex,
    Writer,
    compact,
    default_index_dir,
    due,
    open_index,
    refreshed,
    with_stories,
    without,
)
from ..corpus import Story, clean_text, language
from ..embedding import Embedder, split
from ..errors import InvalidQueryError, OverBudgetError, StorySearchError
from ._answerable import Verdict, judge
from ._diversify import mmr
from ._filters import Filters
from ._fusion import Weights, question_weights
from ._ranking import FUSIONS, Ranking, rank
from ._related import related_ranking
from ._relevance import displayed, match, relevance_to
from ._results import Hit, SearchResult
from ._snippets import make_snippet

Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[str, ...] = get_args(Mode)
log = logging.getLogger(__name__)
MAX_QUERY_CHARS = 2000
MAX_K = 100
QUESTION_TOKENS = 128  # of a question, what is searched: a question is a sentence or two, never a document


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
    def __init__(self, index: StoryIndex, embedder: Embedder, index_dir: Path | None = None, *,
                 fusion: str = "convex", query_cache_size: int = 1024, background_merges: bool = False) -> None:
        """`fusion` is how hybrid mode fuses its channels, one of `FUSIONS` ("rrf" is kept for comparison);
        `query_cache_size` questions keep their vectors, so a repeated question skips the model (0: none);
        `background_merges` lets writes return before the merges they make due (a server's choice)."""
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {', '.join(FUSIONS)}, got {fusion!r}")
        self._index = index
        self.embedder = embedder
        self.index_dir = index_dir
        self.fusion = fusion
        self._query_vectors = _LRU(query_cache_size)
        self._swap = threading.Lock()  # orders index swaps; reads never take it
        self._reloading = threading.Lock()  # one reload at a time: a second caller finds the first's result
        self._merging = threading.Lock()
        self._writer = Writer(index_dir) if index_dir is not None else None
        self._closed = threading.Event()
        self.background_merges = background_merges

    @classmethod
    def open(cls, index_dir: Path | None = None, model: str | None = None, **options: Any) -> SearchService:
        """Load the index at `index_dir` with the model it was built with (or refuse `model` if different);
        `options` are the constructor's (fusion, query_cache_size, background_merges)."""
        root = Path(index_dir or default_index_dir())
        index, embedder = open_index(root, model)
        return cls(index, embedder, root, **options)

    @property
    def index(self) -> StoryIndex:
        return self._index

    # --- reading -------------------------------------------------------------------------------------------
    def query_vector(self, question: str, models: tuple[int, ...] = (0,)) -> np.ndarray:
        """`question` embedded by each of `models` (the index's models that read it; by default the first), each
        model's part of the vector, zero for the others."""
        key = f"{models}\x00{question}"
        vector = self._query_vectors.get(key)
        if vector is None:
            parts = getattr(self.embedder, "parts", (self.embedder,))
            dims = self.embedder.dims
            vector = np.zeros(sum(dims), dtype=np.float32)
            for m, place in enumerate(split(vector, dims)):
                if m in models:
                    place[:] = parts[m].embed([question], kind="query")[0]
            self._query_vectors.put(key, vector)
        return vector

    def weights(self, question_language: str) -> Weights:
        """How the channels count for a question in `question_language` over this index (`fusion.question_weights`)."""
        index = self._index
        return question_weights(question_language, index.scale.language, len(index.scale.dims))

    def search(self, question: str, k: int = 10, mode: str = "hybrid", filters: Filters = Filters(), *,
               diversify: bool = False) -> SearchResult:
        """The k stories that best answer `question`; `diversify` reorders them by MMR (topic questions)."""
        started = time.perf_counter()
        question, k = check_question(question), check_k(k)
        if mode not in MODES:
            raise InvalidQueryError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        question, truncated = self.embedder.truncate(question, QUESTION_TOKENS, "query")
        index = self._index
        allowed = filters.allowed_rows(index.columns)
        if allowed is not None and not len(allowed):
            return SearchResult(question, [], False, (time.perf_counter() - started) * 1000, mode, truncated)
        lang = language(question)
        weights = self.weights(lang)
        vector = self.query_vector(question, weights.models) if mode != "lexical" else None
        ranking = rank(index, question, vector, mode, weights, allowed=allowed, fusion=self.fusion)
        picks = np.arange(min(k, len(ranking)))
        if diversify:
            pool = min(len(ranking), max(3 * k, 30))  # diversity among the relevant few, not the whole list
            likeness = split(index.vectors_at(ranking.rows[:pool]), index.scale.dims)[0]  # the multilingual model's
            picks = mmr(ranking.scores[:pool], likeness, k)
        verdict = judge(index, question, lang, ranking, int(picks.max()) + 1 if len(picks) else 0, mode)
        hits = [self._hit(index, ranking, i, question, verdict) for i in picks.tolist()]
        return SearchResult(question, hits, verdict.answerable, (time.perf_counter() - started) * 1000, mode,
                            truncated, verdict.unmentioned)

    def related(self, story_id: str, k: int = 5) -> list[Hit]:
        """Stories about related initiatives, best first (`related.related_ranking`), each scored as a search
        hit is: its relevance, on the collection's scale, to the story's title asked as a question."""
        k = check_k(k)
        index = self._index
        row = index.row(story_id)
        ranking = related_ranking(index, row, k, self.fusion)
        title = index.story_at(row).title
        models = self.weights(index.scale.language).models
        relevance, dense, coverage = relevance_to(index, title, self.query_vector(title, models), models,
                                                  index.scale.language, ranking.rows[:k])
        verdict = Verdict(True, relevance, displayed(relevance), dense, coverage, ())
        return [self._hit(index, ranking, i, title, verdict) for i in range(min(k, len(ranking)))]

    @staticmethod
    def _hit(index: StoryIndex, ranking: Ranking, i: int, question: str, verdict: Verdict | None = None) -> Hit:
        """Entry `i` of a ranking as a hit, scored by the verdict's shown score when there is one."""
        story = index.story_at(int(ranking.rows[i]))
        why = {**ranking.why[i], "fused": float(ranking.scores[i])}
        score = float(ranking.scores[i])
        if verdict is not None:
            score = float(verdict.shown[i])
            why["relevance"] = float(verdict.relevance[i])
            why["word_coverage"] = float(verdict.coverage[i])
            if verdict.dense_relevance is not None:
                why["dense_relevance"] = float(verdict.dense_relevance[i])
        return Hit(story, score, make_snippet(question, story.title, story.body), why,
                   match(score) if verdict is not None else None)

    @property
    def text_model(self) -> Embedder:
        """The model `embed` and `similarities` use: the index's multilingual one (the first of a pair), so
        vectors and scores mean the same whatever language a caller's texts are in."""
        return getattr(self.embedder, "parts", (self.embedder,))[0]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.text_model.embed(list(texts), kind="document")

    def check_work(self, texts: Sequence[str], per_text: int | None, per_request: int,
                   cap: int | None = None) -> None:
        """Refuse model work past a budget, before any is done: a text of more than `per_text` tokens
        (`InvalidQueryError`), or texts of more than `per_request` together (`OverBudgetError`), each text
        counted up to `cap` tokens (the model reads no more of a long story)."""
        counts = self.embedder.token_counts(list(texts), "document")
        for i, count in enumerate(counts):
            if per_text is not None and count > per_text:
                raise InvalidQueryError(f"text {i + 1} is {count:,} tokens long; the limit is {per_text:,} a text")
        if cap is not None:
            counts = [min(c, cap) for c in counts]
        if sum(counts) > per_request:
            raise OverBudgetError(f"the texts hold {sum(counts):,} tokens; one request may send at most "
                                  f"{per_request:,}: send fewer or shorter texts per request")

    def similarities(self, query: str, texts: Sequence[str]) -> list[float]:
        """Cosine of `query` to each text, all embedded as passages so similarity is symmetric."""
        vectors = self.embed([query, *texts])
        return [float(x) for x in vectors[1:] @ vectors[0]]

    def story(self, story_id: str) -> Story:
        index = self._index
        return index.story_at(index.row(story_id))

    def undated_left_out(self, filters: Filters) -> int:
        """Stories `filters` leave out for having no date: the page says so, rather than let them vanish."""
        return filters.undated_left_out(self._index.columns)

    def countries(self) -> list[str]:
        return self._index.columns.country_names

    def stats(self) -> dict[str, Any]:
        index = self._index
        dates = index.columns.dates[index.live & ~np.isnat(index.columns.dates)]
        return {"stories": len(index), "model": index.model_id, "dim": index.dim,
                "index_type": index.manifest.get("index", {}).get("type"), "built_at": index.manifest.get("built_at"),
                "segments": len(index.segments), "corpus_fingerprint": index.corpus_fingerprint,
                "date_range": [str(dates.min()), str(dates.max())] if len(dates) else None,
                "countries": self.countries()}

    # --- writing -------------------------------------------------------------------------------------------
    def add(self, stories: Sequence[Story], progress: bool = False, own_ids: Collection[str] = ()) -> list[str]:
        """Add or update stories, committed as one delta segment (when the service has a folder), then
        served. `own_ids` are ids the caller gave (they update the story with that id, see `resolve_updates`).
        Returns the id each story is filed under: its own, or that of the story it updated."""
        if self._writer is None:
            with self._swap:
                self._index, ids = with_stories(self._index, stories, self.embedder, own_ids, progress=progress)
            return ids
        index, ids = self._writer.add(self._index, self.embedder, stories, own_ids, progress)
        self._install(index)
        self._merge_if_due()
        return ids

    def delete(self, story_ids: Sequence[str]) -> list[str]:
        """Remove stories (committed, then served, as `add`); returns the ids removed, as `add` returns the
        ids it filed. An unknown id is an `UnknownStoryError` and removes nothing."""
        if self._writer is None:
            with self._swap:
                self._index = without(self._index, story_ids)
            return list(story_ids)
        index = self._writer.delete(self._index, story_ids)
        self._install(index)
        self._merge_if_due()
        return list(story_ids)

    def _install(self, index: StoryIndex) -> None:
        """Serve `index` unless a newer commit is already served (two writers finishing out of order)."""
        with self._swap:
            if (self._index.generation or 0) <= (index.generation or 0):
                self._index = index

    # --- keeping up with the folder ------------------------------------------------------------------------
    def reload(self) -> bool:
        """Serve what other writers committed to the folder since (a CLI `add`, another server, the writing
        process of a server with workers); True when something changed. Only new segments are read."""
        if self.index_dir is None:
            return False
        with self._reloading:
            fresh = refreshed(self._index, self.index_dir)
            if fresh is self._index:
                return False
            self._install(fresh)
            return True

    def catch_up(self, generation: int) -> None:
        """Serve at least commit `generation` of the folder before returning (a worker process answering a
        write that another process committed, so the writer's next read sees it)."""
        if (self._index.generation or 0) < generation:
            self.reload()

    def watch(self, interval: float = 0.5) -> None:
        """Reload in a background thread whenever the folder's manifest changes (servers call this)."""
        def loop() -> None:
            seen = None
            while not self._closed.wait(interval):
                try:
                    stat = os.stat(self.index_dir / MANIFEST)  # type: ignore[operator]
                    mark = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
                    if mark != seen:
                        self.reload()
                        seen = mark
                except (OSError, StorySearchError) as exc:  # mid-rebuild or damaged: keep serving what we have
                    log.warning("not reloading %s: %s", self.index_dir, exc)
        threading.Thread(target=loop, name="index-watch", daemon=True).start()

    def _merge_if_due(self) -> None:
        """Merge deltas once they pile up (`merging.due`): in a background thread when `background_merges`,
        one at a time, while searches and writes go on; else before returning."""
        kind = due(self._index)
        if kind is None or self.index_dir is None or not self._merging.acquire(blocking=False):
            return

        def run() -> None:
            try:
                self._install(compact(self.index_dir, self._index, kind))  # type: ignore[arg-type]
            except Exception:
                log.exception("merge of %s failed; the index is unchanged and the next write retries", self.index_dir)
            finally:
                self._merging.release()

        if self.background_merges:
            threading.Thread(target=run, name="index-merge", daemon=True).start()
        else:
            run()

    @property
    def merging(self) -> bool:
        """Whether a merge is running (in the background, with `background_merges`)."""
        return self._merging.locked()

    def close(self) -> None:
        """Stop watching the folder."""
        self._closed.set()

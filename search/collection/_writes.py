"""Writes after a build: each add or delete commits one small delta segment, whoever the writer is.

The expensive part of a write, embedding, runs before the index folder's lock is taken, so writers embed side
by side; under the lock a writer first picks up what other writers committed (`index_files.refreshed`), then
files its stories against that, so no write is lost or derived from a stale index. The lock is held for the
cost of the delta itself: the stories added, not the collection they join. Adds of one process that arrive
while a commit runs are committed together by the next (`Writer`).
"""
from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..corpus import Story
from ..embedding import Embedder
from ._embed_cache import clear_cache, embed_with_cache
from ._index_build import with_stories, without
from ._index_files import refreshed, save_locked
from ._segment import vector_key
from ._storage import refuse_link, writer_lock
from ._story_index import StoryIndex


def cache_dir(root: Path, *parts: str) -> Path:
    """A folder of the resume cache (`cache/`, `cache/add/`), refused if any part of it is a link."""
    path = root
    for part in ("cache", *parts):
        path = path / part
        refuse_link(path)
    return path


@dataclass(eq=False)
class _Add:
    stories: Sequence[Story]
    own_ids: Collection[str]
    vectors: np.ndarray
    ids: list[str] | None = None
    index: StoryIndex | None = None
    error: BaseException | None = None


class Writer:
    """Adds to the index at `root` from one process, committed in groups.

    An add embeds its stories on its own, then queues. Whichever add next holds the commit takes every add
    queued by then and commits them as one delta segment (one round of fsyncs), then hands each its ids: under
    many concurrent adds the commits keep up, instead of each add waiting for every add ahead of it.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._queue: list[_Add] = []
        self._queue_lock = threading.Lock()
        self._committing = threading.Lock()

    def add(self, index: StoryIndex, embedder: Embedder, stories: Sequence[Story], own_ids: Collection[str] = (),
            progress: bool = False, resume: bool = False) -> tuple[StoryIndex, list[str]]:
        """Add or update `stories` (`index` is this process's latest copy of the index at `root`).

        Returns the index as committed and the id each story was filed under. `own_ids` are ids the caller
        gave (they update the story with that id, see `resolve_updates`). With `resume` (a long add from the
        command line) vectors are saved as they are made, so a killed add picks up where it stopped; the cache
        sits beside a build's, so committing an add never deletes what a killed build would resume from.
        """
        cache = cache_dir(self.root, "add") if resume else None
        mine = _Add(stories, own_ids, embed_with_cache(stories, embedder, cache_dir=cache, progress=progress))
        with self._queue_lock:
            self._queue.append(mine)
        with self._committing:
            if mine.ids is None and mine.error is None:
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                self._commit(index, embedder, batch)
        if mine.error is not None:
            raise mine.error
        if cache is not None:
            clear_cache(cache, embedder.model_id)
        assert mine.index is not None and mine.ids is not None
        return mine.index, mine.ids

    def delete(self, index: StoryIndex, story_ids: Sequence[str]) -> StoryIndex:
        """Delete stories (unknown ids are an `UnknownStoryError`, nothing changes); the index as committed."""
        with self._committing, writer_lock(self.root):
            current = refreshed(index, self.root)
            committed = save_locked(without(current, story_ids), self.root, builds_on=current)
            _apply_to_engine(committed)
        return committed

    def _commit(self, index: StoryIndex, embedder: Embedder, batch: list[_Add]) -> None:
        try:
            with writer_lock(self.root):
                current = refreshed(index, self.root)
                stories = [s for add in batch for s in add.stories]
                own_ids = {i for add in batch for i in add.own_ids}
                vectors = np.concatenate([add.vectors for add in batch])
                updated, ids = with_stories(current, stories, embedder, own_ids, vectors=vectors)
                committed = save_locked(updated, self.root, builds_on=current)
                _apply_to_engine(committed)
        except BaseException as exc:
            for add in batch:
                add.error = exc
            return
        start = 0
        for add in batch:
            add.index, add.ids = committed, ids[start:start + len(add.stories)]
            start += len(add.stories)


def _apply_to_engine(committed: StoryIndex) -> None:
    """A server-side engine (Milvus) is the live state of every segment's vectors: the committed delta goes
    to it now. A crash before this is repaired when the index is next opened (`VectorStore.sync`)."""
    store = committed.store
    if not store.live_writes:
        return
    delta = committed.segments[-1]
    gone = [vector_key(i) for i in delta.deletes if i not in committed]
    if gone:
        store.remove(np.asarray(gone, dtype=np.int64))
    if len(delta):
        store.add(delta.keys, np.asarray(delta.vectors))

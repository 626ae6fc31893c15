"""Writes after a build: each add or delete commits one small delta segment, whoever the writer is.

The expensive part of a write, embedding, runs before the index folder's lock is taken, so writers embed side
by side; under the lock a writer first picks up what other writers committed (`StoryIndex.refreshed`), then
files its stories against that, so no write is lost or derived from a stale index. The lock is held for the
cost of the delta itself: the stories added, not the collection they join.
"""
from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np

from ..corpus import Story
from ..embedding import Embedder
from .embed_cache import clear_cache, embed_with_cache
from .segment import vector_key
from .storage import refuse_link, writer_lock
from .story_index import StoryIndex


def cache_dir(root: Path, *parts: str) -> Path:
    """A folder of the resume cache (`cache/`, `cache/add/`), refused if any part of it is a link."""
    path = root
    for part in ("cache", *parts):
        path = path / part
        refuse_link(path)
    return path


def add_stories(root: Path, index: StoryIndex, embedder: Embedder, stories: Sequence[Story],
                own_ids: Collection[str] = (), progress: bool = False) -> tuple[StoryIndex, list[str]]:
    """Add or update `stories` in the index at `root` (`index` is this process's latest copy of it).

    Returns the index as committed and the id each story was filed under. `own_ids` are ids the caller gave
    (they update the story with that id, see `resolve_updates`). The add's resume cache sits beside a build's,
    so committing an add never deletes what a killed build would resume from.
    """
    resume = cache_dir(root, "add")
    vectors = embed_with_cache(stories, embedder, cache_dir=resume, progress=progress)
    with writer_lock(root):
        current = index.refreshed(root)
        updated, ids = current.with_stories(stories, embedder, own_ids, vectors=vectors)
        committed = updated.save_locked(root, builds_on=current)
        _apply_to_engine(committed)
    clear_cache(resume, embedder.model_id)
    return committed, ids


def delete_stories(root: Path, index: StoryIndex, story_ids: Sequence[str]) -> StoryIndex:
    """Delete stories from the index at `root` (unknown ids are an `UnknownStoryError`, nothing changes)."""
    with writer_lock(root):
        current = index.refreshed(root)
        committed = current.without(story_ids).save_locked(root, builds_on=current)
        _apply_to_engine(committed)
    return committed


def _apply_to_engine(committed: StoryIndex) -> None:
    """A server-side engine (Milvus) is the live state of every segment's vectors: the committed delta goes
    to it now. A crash before this is repaired when the index is next opened (`VectorStore.sync`)."""
    store = committed.store
    if store is None or not store.live_writes:
        return
    delta = committed.segments[-1]
    gone = [vector_key(i) for i in delta.deletes if i not in committed]
    if gone:
        store.remove(np.asarray(gone, dtype=np.int64))
    if len(delta):
        store.add(delta.keys, np.asarray(delta.vectors))

"""Vectors by content hash: an unchanged text is never embedded twice, and a killed build or add resumes.

Known vectors come from the previous index and from the resume cache: chunks of vectors written under the
index's `cache/` folder as a long build goes, at least every `FLUSH_SECONDS` of embedding, so a kill loses
at most that much work. The cache is removed once the index holding its vectors has been committed.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..corpus import Story
from ..embedding import Embedder
from ..errors import ConfigError
from ._storage import refuse_link

log = logging.getLogger(__name__)
BATCH = 32  # texts per model call: small enough for a live rate and ETA, large enough to batch well
FLUSH_SECONDS = 10.0  # embedding work a kill may lose at most (`FLUSH_ENV` overrides it)
FLUSH_STORIES = 1024  # nor more stories than this
FLUSH_ENV = "STORY_SEARCH_FLUSH_SECONDS"


def _cache_folder(cache_dir: Path, model_id: str) -> Path:
    return cache_dir / hashlib.sha256(model_id.encode("utf-8")).hexdigest()[:12]


def flush_seconds() -> float:
    """Seconds of embedding between two chunks of the resume cache: `$STORY_SEARCH_FLUSH_SECONDS`, else 10."""
    value = os.environ.get(FLUSH_ENV)
    if value is None:
        return FLUSH_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise ConfigError(f"{FLUSH_ENV} must be a number of seconds (0 or more), got {value!r}")
    return seconds


class ResumeCache:
    """The resume cache of one model under `cache_dir` (None: a cache that keeps nothing).

    `add` collects vectors as they are embedded and writes them as one chunk once `FLUSH_STORIES` are
    waiting or `FLUSH_SECONDS` have passed since the last chunk; `flush` writes what is waiting now."""

    def __init__(self, cache_dir: Path | None, model_id: str, dim: int) -> None:
        self.folder = _cache_folder(cache_dir, model_id) if cache_dir else None
        self.dim = dim
        self._hashes: list[str] = []
        self._vectors: list[np.ndarray] = []
        self._flushed = time.monotonic()

    def load(self) -> dict[str, np.ndarray]:
        """Every vector the chunks on disk hold, by content hash."""
        known: dict[str, np.ndarray] = {}
        if self.folder is None or not self.folder.is_dir():
            return known
        for chunk in sorted(self.folder.glob("chunk-*.npz")):
            if chunk.is_symlink():
                continue
            try:
                with np.load(chunk, allow_pickle=False) as data:
                    if data["vectors"].shape[1:] == (self.dim,):
                        known.update(zip((k.decode() for k in data["keys"]), data["vectors"]))
            except (OSError, ValueError, KeyError):  # a chunk cut short by a crash: embed those again
                log.warning("ignoring unreadable embedding cache chunk %s", chunk)
        return known

    def add(self, hashes: Sequence[str], vectors: np.ndarray) -> None:
        self._hashes.extend(hashes)
        self._vectors.append(np.asarray(vectors, dtype=np.float32))
        if len(self._hashes) >= FLUSH_STORIES or time.monotonic() - self._flushed >= flush_seconds():
            self.flush()

    def flush(self) -> None:
        """One chunk of what is waiting, appearing only whole and never written through a link (the folders
        above it are checked by whoever chose them: `writes.cache_dir`)."""
        if self.folder is not None and self._hashes:
            refuse_link(self.folder)
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".chunk-", suffix=".npz", dir=self.folder)
            with os.fdopen(fd, "wb") as f:
                np.savez(f, keys=np.array([h.encode() for h in self._hashes], dtype="S64"),
                         vectors=np.concatenate(self._vectors))
            os.replace(tmp, self.folder / f"chunk-{time.time_ns()}.npz")
        self._hashes, self._vectors, self._flushed = [], [], time.monotonic()


def embed_with_cache(stories: Sequence[Story], embedder: Embedder, *, known: Mapping[str, np.ndarray] = {},
                     cache_dir: Path | None = None, progress: bool = False) -> np.ndarray:
    """Vectors for `stories`, embedding only content hashes that neither `known` nor the resume cache hold."""
    vectors = np.zeros((len(stories), embedder.dim), dtype=np.float32)
    cache = ResumeCache(cache_dir, embedder.model_id, embedder.dim)
    cached = cache.load()
    todo: list[int] = []
    resumed = 0
    for row, story in enumerate(stories):
        h = story.content_hash
        vector = known.get(h)
        if vector is None:
            vector = cached.get(h)
            resumed += vector is not None
        if vector is None:
            todo.append(row)
        else:
            vectors[row] = vector
    if not todo:
        return vectors
    if resumed:
        log.info("resuming: %s of %s already embedded", f"{len(stories) - len(todo):,}", f"{len(stories):,}")
    log.info("embedding %d of %d stories with %s", len(todo), len(stories), embedder.model_id)
    from tqdm import tqdm

    bar = tqdm(total=len(todo), unit="story", file=sys.stderr, disable=not progress, desc="embedding")
    try:
        for start in range(0, len(todo), BATCH):
            part = todo[start:start + BATCH]
            vectors[part] = embedder.embed([stories[r].text for r in part])
            bar.update(len(part))
            if start + BATCH < len(todo):  # the last batch is committed with the index, not cached
                cache.add([stories[r].content_hash for r in part], vectors[part])
    except KeyboardInterrupt:  # Ctrl-C: keep what was embedded since the last chunk, for the rerun to resume
        cache.flush()
        raise
    finally:
        bar.close()
    return vectors


def clear_cache(cache_dir: Path, model_id: str) -> None:
    shutil.rmtree(_cache_folder(cache_dir, model_id), ignore_errors=True)

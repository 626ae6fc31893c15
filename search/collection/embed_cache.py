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
from .storage import refuse_link

log = logging.getLogger(__name__)
BATCH = 32  # texts per model call: small enough for a live rate and ETA, large enough to batch well
FLUSH_SECONDS = 10.0  # embedding work a kill may lose at most
FLUSH_STORIES = 1024  # nor more stories than this


def _cache_folder(cache_dir: Path, model_id: str) -> Path:
    return cache_dir / hashlib.sha256(model_id.encode("utf-8")).hexdigest()[:12]


def _load_cache(folder: Path, dim: int) -> dict[str, np.ndarray]:
    known: dict[str, np.ndarray] = {}
    for chunk in sorted(folder.glob("chunk-*.npz")):
        if chunk.is_symlink():
            continue
        try:
            with np.load(chunk, allow_pickle=False) as data:
                if data["vectors"].shape[1:] == (dim,):
                    known.update(zip((k.decode() for k in data["keys"]), data["vectors"]))
        except (OSError, ValueError, KeyError):  # a chunk cut short by a crash: embed those again
            log.warning("ignoring unreadable embedding cache chunk %s", chunk)
    return known


def _save_chunk(folder: Path, hashes: list[str], vectors: np.ndarray) -> None:
    """One chunk of the resume cache, appearing only whole and never written through a link (the folders
    above it are checked by whoever chose them: `build.cache_dir`)."""
    refuse_link(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".chunk-", suffix=".npz", dir=folder)
    with os.fdopen(fd, "wb") as f:
        np.savez(f, keys=np.array([h.encode() for h in hashes], dtype="S64"), vectors=vectors)
    os.replace(tmp, folder / f"chunk-{time.time_ns()}.npz")


def embed_with_cache(stories: Sequence[Story], embedder: Embedder, *, known: Mapping[str, np.ndarray] = {},
                     cache_dir: Path | None = None, progress: bool = False) -> np.ndarray:
    """Vectors for `stories`, embedding only content hashes that neither `known` nor the resume cache hold."""
    vectors = np.zeros((len(stories), embedder.dim), dtype=np.float32)
    folder = _cache_folder(cache_dir, embedder.model_id) if cache_dir else None
    cached = _load_cache(folder, embedder.dim) if folder and folder.is_dir() else {}
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
    pending: list[int] = []
    flushed = time.monotonic()
    try:
        for start in range(0, len(todo), BATCH):
            part = todo[start:start + BATCH]
            vectors[part] = embedder.embed([stories[r].text for r in part])
            bar.update(len(part))
            pending += part
            last = start + BATCH >= len(todo)
            if folder and pending and not last and (len(pending) >= FLUSH_STORIES
                                                    or time.monotonic() - flushed >= FLUSH_SECONDS):
                _save_chunk(folder, [stories[r].content_hash for r in pending], vectors[pending])
                pending, flushed = [], time.monotonic()
    except KeyboardInterrupt:  # Ctrl-C: keep what was embedded since the last chunk, for the rerun to resume
        if folder and pending:
            _save_chunk(folder, [stories[r].content_hash for r in pending], vectors[pending])
        raise
    finally:
        bar.close()
    return vectors


def clear_cache(cache_dir: Path, model_id: str) -> None:
    shutil.rmtree(_cache_folder(cache_dir, model_id), ignore_errors=True)

"""Vectors by content hash: an unchanged text is never embedded twice, and a killed build resumes.

Known vectors come from the previous index and from the resume cache: chunks of vectors written under the
index's `cache/` folder as a long build goes. The cache is removed once the index holding its vectors has
been committed.
"""
from __future__ import annotations

import hashlib
import logging
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..corpus import Story
from ..embedding import Embedder

if TYPE_CHECKING:
    from .story_index import StoryIndex

log = logging.getLogger(__name__)
PROGRESS_BATCH = 64  # texts per model call: small enough for a live rate and ETA, large enough to batch well


def _cache_folder(cache_dir: Path, model_id: str) -> Path:
    return cache_dir / hashlib.sha256(model_id.encode("utf-8")).hexdigest()[:12]


def _load_cache(folder: Path, dim: int) -> dict[str, np.ndarray]:
    known: dict[str, np.ndarray] = {}
    for chunk in sorted(folder.glob("chunk-*.npz")):
        try:
            with np.load(chunk, allow_pickle=False) as data:
                if data["vectors"].shape[1:] == (dim,):
                    known.update(zip((k.decode() for k in data["keys"]), data["vectors"]))
        except (OSError, ValueError, KeyError):  # a chunk cut short by a crash: embed those again
            log.warning("ignoring unreadable embedding cache chunk %s", chunk)
    return known


def embed_with_cache(stories: Sequence[Story], embedder: Embedder, *, previous: StoryIndex | None = None,
                     cache_dir: Path | None = None, chunk_size: int = 512, progress: bool = False,
                     fresh: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """Vectors for `stories`, embedding only content hashes not seen before.

    Known vectors come from the previous index and from the resume cache: chunks written to `cache_dir`
    as a long build goes, so a build killed half way picks up where it stopped. The cache is removed by the
    caller once the index that contains its vectors has been saved.
    """
    vectors = np.zeros((len(stories), embedder.dim), dtype=np.float32)
    known: dict[str, int] = {}
    if previous is not None and previous.model_id == embedder.model_id:
        known = {s.content_hash: row for row, s in enumerate(previous.stories)}
    folder = _cache_folder(cache_dir, embedder.model_id) if cache_dir else None
    cached = {**(_load_cache(folder, embedder.dim) if folder else {}), **(fresh or {})}
    todo: list[int] = []
    for row, story in enumerate(stories):
        h = story.content_hash
        if h in known:
            vectors[row] = previous.vectors[known[h]]  # type: ignore[union-attr]
        elif h in cached:
            vectors[row] = cached[h]
        else:
            todo.append(row)
    if not todo:
        return vectors
    log.info("embedding %d of %d stories with %s", len(todo), len(stories), embedder.model_id)
    from tqdm import tqdm

    bar = tqdm(total=len(todo), unit="story", file=sys.stderr, disable=not progress, desc="embedding")
    for start in range(0, len(todo), chunk_size):
        rows = todo[start:start + chunk_size]
        for batch in range(0, len(rows), PROGRESS_BATCH):
            part = rows[batch:batch + PROGRESS_BATCH]
            vectors[part] = embedder.embed([stories[r].text for r in part])
            bar.update(len(part))
        if folder:
            folder.mkdir(parents=True, exist_ok=True)
            keys = np.array([stories[r].content_hash.encode() for r in rows], dtype="S64")
            tmp = folder / f".chunk-{time.time_ns()}.npz"
            np.savez(tmp, keys=keys, vectors=vectors[rows])
            tmp.rename(folder / tmp.name[1:])  # complete chunks only ever appear under their final name
    bar.close()
    return vectors


def clear_cache(cache_dir: Path, model_id: str) -> None:
    shutil.rmtree(_cache_folder(cache_dir, model_id), ignore_errors=True)

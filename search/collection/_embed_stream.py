"""Embedding that runs beside the rest of a build: stories are embedded while the corpus is still being read,
merged and indexed for BM25, instead of after.

A build offers each file's story copies as soon as they are read (`offer`); a thread embeds every content
hash that neither the previous index nor the resume cache knows, in the order offered, through an encoder:
the local model (`LocalEncoder`) or a pool of encoders on a cluster (`search.collection._ray_build`). Once
copies are merged, the build keeps only the texts it will index (`settle`): copies merged away that the
encoder has not reached yet are dropped, so the work spent on them is at most what the encoder did while
the merge ran. A merged story keeps the text of one of its copies, so its vector is already on its way.

Every batch the encoder finishes goes into the resume cache (`embed_cache.ResumeCache`), so a killed build
resumes where it stopped whichever encoder ran it.
"""
from __future__ import annotations

import logging
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from ..corpus import Story
from ..embedding import Embedder
from . import _embed_cache
from ._embed_cache import ResumeCache

log = logging.getLogger(__name__)


class Encoder(Protocol):
    """Where texts are embedded: each batch's vectors, in the order the batches come."""

    model_id: str
    dim: int

    @property
    def batch(self) -> int:
        """Texts per batch."""

    def run(self, batches: Iterator[list[str]]) -> Iterator[np.ndarray]:
        """Vectors of each batch of `batches` in turn; may read ahead while earlier batches are embedded."""

    def close(self) -> None:
        """Let go of what the encoder holds (a cluster connection)."""


class LocalEncoder:
    """The model in this process, one batch at a time."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder, self.model_id, self.dim = embedder, embedder.model_id, embedder.dim

    @property
    def batch(self) -> int:
        return _embed_cache.BATCH

    def run(self, batches: Iterator[list[str]]) -> Iterator[np.ndarray]:
        return (self.embedder.embed(texts) for texts in batches)

    def close(self) -> None:
        pass


class EmbeddingStream:
    """Stories' vectors embedded in a background thread as they are offered; see the module docstring.

    Nothing starts until a text that `known` lacks is offered: an unchanged corpus loads no model and
    reaches no cluster. The thread then opens the encoder (`open_encoder`: the model loads while the corpus
    is read) and the resume cache under `cache_dir`. Use as a context manager: leaving it stops the thread
    and, when the build failed, saves what was embedded to the resume cache first."""

    def __init__(self, open_encoder: Callable[[], Encoder], known: Mapping[str, np.ndarray] = {},
                 cache_dir: Path | None = None, progress: bool = False) -> None:
        from tqdm import tqdm

        self.open_encoder, self.known, self.cache_dir = open_encoder, known, cache_dir
        self.encoder: Encoder | None = None
        self.cache: ResumeCache | None = None
        self.done: dict[str, np.ndarray] = {}
        self.resumed: set[str] = set()  # hashes the resume cache held
        self._pending: dict[str, str] = {}  # content hash -> text, in the order offered
        self._wanted: set[str] = set()  # every hash offered and not dropped (queued, in flight or done)
        self._in_flight: deque[list[str]] = deque()
        self._closed = False
        self._failure: BaseException | None = None
        self._cond = threading.Condition()
        self._bar = tqdm(total=0, unit="story", file=sys.stderr, disable=not progress, desc="embedding")
        self._thread: threading.Thread | None = None

    def __enter__(self) -> EmbeddingStream:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        self.stop(save=error is not None)

    def offer(self, stories: Iterable[Story]) -> None:
        """Queue the texts of `stories` that are not known or queued already."""
        added = 0
        with self._cond:
            for story in stories:
                h = story.content_hash
                if h in self._wanted or h in self.known:
                    continue
                self._wanted.add(h)
                self._pending[h] = story.text
                added += 1
            self._cond.notify_all()
        if added:
            self._bar.total += added
            self._bar.refresh()
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="embed-stream", daemon=True)
                self._thread.start()

    def settle(self, stories: Sequence[Story]) -> None:
        """`stories` are all the build indexes: drop queued texts that are none of theirs, queue any missing,
        and let the encoder finish once the queue is empty."""
        keep = {s.content_hash for s in stories}
        with self._cond:
            dropped = [h for h in self._pending if h not in keep]
            for h in dropped:
                del self._pending[h]
                self._wanted.discard(h)
        self._bar.total -= len(dropped)
        self.offer(stories)
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def vectors(self, stories: Sequence[Story]) -> np.ndarray:
        """The vectors of `stories`, row by row, once the encoder has embedded them (`settle` first)."""
        self._join()
        if self._failure is not None:
            raise self._failure
        needed = {s.content_hash for s in stories} - self.known.keys()
        if needed & self.resumed:  # an interrupted build's work, said plainly
            log.info("resuming: %s of %s already embedded", f"{len(needed & self.resumed):,}", f"{len(stories):,}")
        if needed:
            log.info("embedded %d of %d stories", len(needed - self.resumed), len(stories))
        dim = self.encoder.dim if self.encoder is not None else len(next(iter(self.known.values())))
        out = np.zeros((len(stories), dim), dtype=np.float32)
        for row, story in enumerate(stories):
            h = story.content_hash
            vector = self.known.get(h)
            out[row] = vector if vector is not None else self.done[h]
        return out

    def stop(self, save: bool = False) -> None:
        """End the thread without waiting for queued texts; `save`: write what was embedded to the cache."""
        with self._cond:
            self._pending.clear()
            self._closed = True
            self._cond.notify_all()
        self._join()
        if save and self.cache is not None:
            self.cache.flush()

    def _join(self) -> None:
        if self._thread is not None:
            self._thread.join()
        self._bar.close()
        if self.encoder is not None:
            self.encoder.close()

    # --- the thread ----------------------------------------------------------------------------------------
    def _batches(self, size: int) -> Iterator[list[str]]:
        while True:
            with self._cond:
                while len(self._pending) < size and not self._closed:
                    self._cond.wait()
                resumed = [h for h in self._pending if h in self.done]
                for h in resumed:
                    del self._pending[h]
                hashes = list(self._pending)[:size]
                texts = [self._pending.pop(h) for h in hashes]
                if hashes:
                    self._in_flight.append(hashes)
            self.resumed.update(resumed)
            self._bar.update(len(resumed))
            if hashes:
                yield texts
            elif self._closed:
                return

    def _work(self) -> None:
        try:
            self.encoder = encoder = self.open_encoder()
            self.cache = ResumeCache(self.cache_dir, encoder.model_id, encoder.dim)
            self.done = self.cache.load()
            for vectors in encoder.run(self._batches(encoder.batch)):
                with self._cond:
                    hashes = self._in_flight.popleft()
                self.done.update(zip(hashes, vectors))
                self.cache.add(hashes, vectors)
                self._bar.update(len(hashes))
        except BaseException as exc:  # handed to the build's thread by `vectors`
            self._failure = exc

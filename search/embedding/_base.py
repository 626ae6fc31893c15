"""The embedding interface: everything the index and the service need from a model, and nothing more."""
from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from typing import Literal

import numpy as np

Kind = Literal["query", "document"]


class Embedder(ABC):
    """A text-to-vector model. Vectors come back L2-normalised (each model's part of them, `dims`, when
    several models read the text) so inner product is cosine similarity.

    Some models embed questions and passages differently (e5's "query: " / "passage: " prefixes), hence
    `kind`. Calls are serialised by a lock unless the model says it is `concurrent`: model runtimes are not
    all safe to call from several threads, and the lock is held only for the forward pass.
    """

    model_id: str
    dim: int
    concurrent = False  # True: the runtime may be called from several threads at once (no lock needed)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counting = threading.Lock()
        self.texts_embedded = 0  # lets tests and stats see how much work the model really did

    @abstractmethod
    def _encode(self, texts: list[str], kind: Kind) -> np.ndarray:
        """Raw vectors for one batch."""

    @property
    def dims(self) -> tuple[int, ...]:
        """The width of each model's part of the vectors, in order (one part for a single model)."""
        return (self.dim,)

    def token_counts(self, texts: list[str], kind: Kind = "document") -> list[int]:
        """The work each text costs the model, in its tokens; words where a model does not say."""
        return [len(t.split()) for t in texts]

    def truncate(self, text: str, max_tokens: int, kind: Kind = "document") -> tuple[str, bool]:
        """`text` cut to at most `max_tokens` of the model's tokens, and whether it was cut; by words where a
        model does not say."""
        words = text.split()
        if len(words) <= max_tokens:
            return text, False
        return " ".join(words[:max_tokens]), True

    def embed(self, texts: list[str], kind: Kind = "document") -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        texts = [t.replace("\x00", " ") for t in texts]  # C runtimes read NUL as end of text
        if self.concurrent:
            vectors = np.asarray(self._encode(texts, kind), dtype=np.float32)
        else:
            with self._lock:
                vectors = np.asarray(self._encode(texts, kind), dtype=np.float32)
        with self._counting:
            self.texts_embedded += len(texts)
        return normalise(vectors, self.dims)


def normalise(vectors: np.ndarray, dims: tuple[int, ...]) -> np.ndarray:
    """Each row's part of each width in `dims` scaled to unit length."""
    parts = []
    start = 0
    for width in dims:
        part = vectors[:, start:start + width]
        parts.append(part / np.maximum(np.linalg.norm(part, axis=1, keepdims=True), 1e-12))
        start += width
    return np.ascontiguousarray(np.hstack(parts), dtype=np.float32)

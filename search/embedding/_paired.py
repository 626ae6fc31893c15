"""Two models read every story: the multilingual one every question is embedded with, and an English one that
gives English questions a second opinion.

One small multilingual model knows too few English paraphrases ("emigrants who stay connected to their
homeland" for diaspora organisations); a model trained on English paraphrase pairs knows many more but
cannot read a Spanish question. So a story's vector is both models' unit vectors side by side, and everything
that stores, copies, merges or resumes vectors handles one array as before. A question is embedded by each
model that can read it; the part of its vector for a model that can't is zero, so one inner product with a
story's vector is the sum of the cosines of the models that read the question (`query_vector`).
"""
from __future__ import annotations

import numpy as np

from ._base import Embedder, Kind

SEPARATOR = "+"  # between the two models' ids in the paired model's id


class PairedEmbedder(Embedder):
    """`primary` (any language; its token budget and windows govern) beside `english` (English questions)."""

    def __init__(self, primary: Embedder, english: Embedder) -> None:
        super().__init__()
        self.primary, self.english = primary, english
        self.parts: tuple[Embedder, ...] = (primary, english)
        self.model_id = f"{primary.model_id}{SEPARATOR}{english.model_id}"
        self.dim = primary.dim + english.dim
        self.concurrent = primary.concurrent and english.concurrent

    def _encode(self, texts: list[str], kind: Kind) -> np.ndarray:
        return np.hstack([part.embed(texts, kind) for part in self.parts])

    @property
    def dims(self) -> tuple[int, ...]:
        return (self.primary.dim, self.english.dim)

    def token_counts(self, texts: list[str], kind: Kind = "document") -> list[int]:
        return self.primary.token_counts(texts, kind)

    def truncate(self, text: str, max_tokens: int, kind: Kind = "document") -> tuple[str, bool]:
        return self.primary.truncate(text, max_tokens, kind)


def split(vectors: np.ndarray, dims: tuple[int, ...]) -> list[np.ndarray]:
    """`vectors` (n, sum(dims)) cut into each model's part."""
    edges = np.cumsum((0, *dims))
    return [vectors[..., a:b] for a, b in zip(edges[:-1], edges[1:])]

"""A build embeds while it reads and indexes: the encoder starts on the first stories read, and BM25 is built
while it works; what comes out is the index a build always made."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from search import build_index
from search.collection import _build as build_module
from search.collection import load_index
from search.collection._embed_cache import BATCH
from search.collection._postings import Postings
from search.corpus import read_stories
from search.embedding import Embedder, load_embedder
from search.embedding._base import Kind
from tests.helpers import SEEDS

WAIT = 60.0  # seconds; only reached when the build does one step after the other


class Gated(Embedder):
    """The hashing model, whose first call says embedding started and then waits until BM25 is being built."""

    def __init__(self, started: threading.Event, indexing: threading.Event) -> None:
        super().__init__()
        self.real = load_embedder("hashing")
        self.model_id, self.dim = self.real.model_id, self.real.dim
        self.started, self.indexing = started, indexing
        self.documents = 0

    def _encode(self, texts: list[str], kind: Kind) -> np.ndarray:
        if kind == "document":
            self.documents += len(texts)
        if kind == "document" and not self.started.is_set():
            self.started.set()
            if not self.indexing.wait(WAIT):
                raise RuntimeError("BM25 was not built while the encoder worked")
        return self.real.embed(texts, kind)


def test_stories_are_embedded_while_the_corpus_is_read_and_indexed(tmp_path: Path, hashed_index: Path,
                                                                   monkeypatch: pytest.MonkeyPatch):
    started, indexing = threading.Event(), threading.Event()
    gated = Gated(started, indexing)
    copies = read_stories([SEEDS])

    def parts(paths, fields):
        yield copies[:BATCH + 4]  # more than one batch: the encoder has work
        if not started.wait(WAIT):  # the rest of the corpus is read only once the first stories are embedding
            raise RuntimeError("nothing was embedded while the corpus was read")
        yield copies[BATCH + 4:]

    class Watched(Postings):
        @classmethod
        def build(cls, texts):
            indexing.set()
            return super().build(texts)

    monkeypatch.setattr(build_module, "read_in_parts", parts)
    monkeypatch.setattr(build_module, "Postings", Watched)
    monkeypatch.setattr(build_module, "load_embedder", lambda name=None: gated)
    index, _ = build_index([SEEDS], tmp_path / "index", "hashing")
    assert index is not None
    expected = load_index(hashed_index)
    assert [s.id for s in index.stories] == [s.id for s in expected.stories]
    rows = np.arange(len(index.stories))
    np.testing.assert_allclose(index.vectors_at(rows), expected.vectors_at(rows), atol=1e-6)
    # Each text once: copies merged away that were embedded before the merge are the only extra work.
    assert len(index) <= gated.documents <= len({c.content_hash for c in copies})

"""`index_type="auto"`: exact below the threshold, approximate above, parameters in the manifest."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from search._errors import ConfigError
from search.config import Config
from search.embedding import Embedder
from search.index_dir import read_manifest
from search.story import make_story
from search.story_index import StoryIndex
from search.vectorstore import FaissFlatStore, FaissHNSWStore, FaissIVFStore, choose, compatible
from search.vectorstore.choice import APPROXIMATE_FROM


class HashEmbedder(Embedder):
    """Deterministic vectors from the text's hash: enough to index and update without a model."""

    model_id, dim = "test/hash", 32

    def _encode(self, texts, kind):
        seeds = [int.from_bytes(hashlib.sha256(t.encode()).digest()[:4], "big") for t in texts]
        return np.stack([np.random.default_rng(s).standard_normal(self.dim) for s in seeds]).astype(np.float32)


def test_auto_is_exact_below_the_threshold_and_approximate_above():
    assert choose("auto", {}, APPROXIMATE_FROM - 1) == ("faiss-flat", {})
    assert choose("auto", {}, APPROXIMATE_FROM)[0] == "faiss-ivf"
    assert choose("auto", {"threshold": 10, "approximate": "faiss-hnsw", "approximate_params": {"M": 8}}, 10) \
        == ("faiss-hnsw", {"M": 8})
    assert choose("faiss-ivf", {"nprobe": 4}, 3) == ("faiss-ivf", {"nprobe": 4})  # explicit: as configured


def test_auto_keeps_the_approximate_index_while_shrinking_a_little():
    ivf = FaissIVFStore(8)
    assert choose("auto", {"threshold": 100}, 60, ivf)[0] == "faiss-ivf"
    assert choose("auto", {"threshold": 100}, 40, ivf)[0] == "faiss-flat"


def test_compatible_means_agreeing_with_every_parameter_asked_for():
    graph = FaissHNSWStore(8, {"ef_search": 50})
    assert compatible(graph, "faiss-hnsw", {}) and compatible(graph, "faiss-hnsw", {"ef_search": 50})
    assert not compatible(graph, "faiss-hnsw", {"M": 8}) and not compatible(FaissFlatStore(8), "faiss-hnsw", {})


def stories(n: int, start: int = 0) -> list:
    return [make_story(title=f"Story {i}", body=f"Body of synthetic story number {i}.") for i in range(start, start + n)]


@pytest.fixture
def config() -> Config:
    return Config(model="test/hash", index_params={"threshold": 30, "approximate_params": {"nprobe": 4}})


def test_the_index_switches_engine_as_it_grows_and_records_its_parameters(config: Config, tmp_path: Path):
    embedder = HashEmbedder()
    small = StoryIndex.build(stories(20), embedder, config)
    assert small.store.kind == "faiss-flat"
    grown = small.with_stories(stories(20, start=20), embedder)
    assert grown.store.kind == "faiss-ivf" and len(grown.store) == 40
    grown.save(tmp_path)
    manifest = read_manifest(tmp_path)
    assert manifest["config"]["index_type"] == "auto"
    assert manifest["index"]["type"] == "faiss-ivf"
    assert manifest["index"]["params"] == {**FaissIVFStore.defaults, "nprobe": 4, "nlist": 1}  # 40 stories: 1 list
    loaded = StoryIndex.load(tmp_path)
    assert loaded.store.kind == "faiss-ivf" and len(loaded.store) == 40
    again = loaded.with_stories(stories(1, start=40), embedder)  # updated in place, not rebuilt
    assert again.store.kind == "faiss-ivf" and len(again.store) == 41 and again.store.params["nlist"] == 1
    row = again.row(again.stories[-1].id)
    _, keys = again.store.search(np.asarray(again.vectors[row])[None, :], 1)
    assert again.rows_of_keys(keys[0])[0] == row


@pytest.mark.parametrize("kind, params, message", [
    ("faiss-ivf", {"nprobes": 8}, "faiss-ivf takes no parameter nprobes; it takes: nlist, nprobe, sq8"),
    ("faiss-flat", {"nprobe": 8}, "faiss-flat takes no parameter nprobe; it takes: none"),
    ("auto", {"treshold": 10}, "auto takes no parameter treshold"),
    ("auto", {"approximate": "faiss-hnsw", "approximate_params": {"ef": 64}}, "faiss-hnsw takes no parameter ef"),
    ("auto", {"approximate": "annoy"}, "unknown index type 'annoy'"),
    ("annoy", {}, "unknown index type 'annoy'"),
])
def test_unknown_engines_and_parameters_are_refused_before_embedding(kind, params, message):
    embedder = HashEmbedder()
    with pytest.raises(ConfigError, match=message):
        StoryIndex.build([make_story("t", "some body text")], embedder, Config(model=embedder.model_id,
                                                                                 index_type=kind, index_params=params))
    assert embedder.texts_embedded == 0

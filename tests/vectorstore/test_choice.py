"""`index_type="auto"`: exact below the threshold, approximate above, parameters in the manifest."""
from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pytest

from search.collection import Config, index_stories, load_index, save_index, with_stories
from search.collection._manifest import read_manifest
from search.collection._merging import compacted
from search.corpus import make_story
from search.embedding._hashing import HashingEmbedder
from search.errors import ConfigError
from search.vectorstore import FaissFlatStore, check_config, choose, compatible, store_class
from search.vectorstore._choice import APPROXIMATE_FROM
from search.vectorstore._faiss_hnsw import FaissHNSWStore
from search.vectorstore._faiss_ivf import FaissIVFStore


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
    return [make_story(title=f"Story {i}", body=f"Body of synthetic story number {i}.")
            for i in range(start, start + n)]


@pytest.fixture
def config() -> Config:
    return Config(model="hashing", index_params={"threshold": 30, "approximate_params": {"nprobe": 4}})


def test_the_index_switches_engine_as_it_grows_and_records_its_parameters(config: Config, tmp_path: Path):
    embedder = HashingEmbedder()
    small = index_stories(stories(20), embedder, config)
    assert small.store.kind == "faiss-flat"
    grown, _ = with_stories(small, stories(20, start=20), embedder)
    assert grown.store.kind == "faiss-flat" and len(grown) == 40  # a write appends; the base is kept as it is
    merged = compacted(grown)  # a merge makes the base the configuration asks for at the new size
    assert merged.store.kind == "faiss-ivf" and len(merged.store) == 40
    save_index(merged, tmp_path)
    manifest = read_manifest(tmp_path)
    assert manifest["config"]["index_type"] == "auto"
    assert manifest["index"]["type"] == "faiss-ivf"
    assert manifest["index"]["params"] == {**FaissIVFStore.defaults, "nprobe": 4, "nlist": 1}  # 40 stories: 1 list
    loaded = load_index(tmp_path)
    assert loaded.store.kind == "faiss-ivf" and len(loaded.store) == 40
    again, _ = with_stories(loaded, stories(1, start=40), embedder)
    row = again.row(again.stories[-1].id)
    assert again.nearest(again.vectors_at(np.asarray([row]))[0], 1)[0].tolist() == [row]
    merged = compacted(again)  # the trained IVF is updated in place, not rebuilt
    assert merged.store.kind == "faiss-ivf" and len(merged.store) == 41 and merged.store.params["nlist"] == 1


@pytest.mark.parametrize("kind, params, message", [
    ("faiss-ivf", {"nprobes": 8}, "faiss-ivf takes no parameter nprobes; it takes: nlist, nprobe, sq8"),
    ("faiss-flat", {"nprobe": 8}, "faiss-flat takes no parameter nprobe; it takes: none"),
    ("auto", {"treshold": 10}, "auto takes no parameter treshold"),
    ("auto", {"approximate": "faiss-hnsw", "approximate_params": {"ef": 64}}, "faiss-hnsw takes no parameter ef"),
    ("auto", {"approximate": "annoy"}, "unknown index type 'annoy'"),
    ("annoy", {}, "unknown index type 'annoy'"),
    ("faiss-hnsw", {"M": 0}, "faiss-hnsw parameter M must be an integer from 2 to 2048, not 0"),  # was a FAISS abort
    ("faiss-hnsw", {"M": 1}, "parameter M must be an integer from 2 to 2048, not 1"),  # was a segfault
    ("faiss-hnsw", {"M": True}, "parameter M must be an integer from 2 to 2048, not True"),  # bool is no count
    ("faiss-hnsw", {"M": 4096}, "parameter M must be an integer from 2 to 2048, not 4096"),
    ("faiss-hnsw", {"ef_search": 0}, "parameter ef_search must be an integer from 1 to 2147483647, not 0"),
    ("faiss-hnsw", {"ef_search": 2**31}, "parameter ef_search must be an integer from 1 to 2147483647, not 2147483648"),
    ("faiss-hnsw", {"ef_search": "64"}, "parameter ef_search must be an integer from 1 to 2147483647, not '64'"),
    ("faiss-hnsw", {"ef_construction": 80.0},
     "parameter ef_construction must be an integer from 1 to 2147483647, not 80.0"),
    ("faiss-hnsw", {"sq8": 1}, "parameter sq8 must be true or false, not 1"),
    ("faiss-hnsw", {"rebuild_at": 1.5}, "parameter rebuild_at must be a number from 0 to 1, not 1.5"),
    ("faiss-hnsw", {"rebuild_at": float("nan")}, "parameter rebuild_at must be a number from 0 to 1, not nan"),
    ("faiss-ivf", {"nprobe": -1}, "faiss-ivf parameter nprobe must be an integer ≥ 1, not -1"),  # was a crash per query
    ("faiss-ivf", {"nprobe": "x"}, "faiss-ivf parameter nprobe must be an integer ≥ 1, not 'x'"),
    ("faiss-ivf", {"nlist": 0}, "faiss-ivf parameter nlist must be an integer ≥ 1, or null, not 0"),
    ("faiss-ivf", {"nlist": 2.5}, "faiss-ivf parameter nlist must be an integer ≥ 1, or null, not 2.5"),
    ("faiss-ivf", {"sq8": "yes"}, "faiss-ivf parameter sq8 must be true or false, not 'yes'"),
    ("milvus", {"uri": ""}, "milvus parameter uri must be a non-empty string, not ''"),
    ("milvus", {"collection": 5}, "milvus parameter collection must be a non-empty string, not 5"),
    ("milvus", {"index": "HNSW"}, "milvus parameter index must be a JSON object, not 'HNSW'"),
    ("milvus", {"search_params": [1]}, "milvus parameter search_params must be a JSON object, not [1]"),
    ("milvus", {"consistency": "strong"},
     "milvus parameter consistency must be one of Strong, Session, Bounded, Eventually, not 'strong'"),
    ("auto", {"threshold": -1}, "auto parameter threshold must be an integer ≥ 0, not -1"),
    ("auto", {"threshold": "100"}, "auto parameter threshold must be an integer ≥ 0, not '100'"),
    ("auto", {"approximate": "auto"},
     "auto parameter approximate must be the name of an engine other than auto, not 'auto'"),
    ("auto", {"approximate": ["faiss-ivf"]},
     "parameter approximate must be the name of an engine other than auto, not ["),
    ("auto", {"approximate_params": [1]}, "auto parameter approximate_params must be a JSON object, not [1]"),
    ("auto", {"approximate_params": {"nprobe": -1}}, "faiss-ivf parameter nprobe must be an integer ≥ 1, not -1"),
    ("auto", {"approximate": "faiss-hnsw", "approximate_params": {"M": 0}}, "faiss-hnsw parameter M must be"),
])
def test_bad_engines_parameters_and_values_are_refused_before_embedding(kind, params, message):
    embedder = HashingEmbedder()
    with pytest.raises(ConfigError, match=re.escape(message)):
        index_stories([make_story("t", "some body text")], embedder, Config(model=embedder.model_id,
                                                                                 index_type=kind, index_params=params))
    assert embedder.texts_embedded == 0


@pytest.mark.parametrize("kind", ["faiss-flat", "faiss-hnsw", "faiss-ivf", "milvus"])
def test_every_parameter_has_a_spec_and_the_defaults_pass_it(kind):
    engine = store_class(kind)
    assert engine.specs.keys() == engine.defaults.keys()
    engine.check_params(engine.defaults)


@pytest.mark.parametrize("kind, params", [
    ("faiss-hnsw", {"M": 2, "ef_construction": 1, "ef_search": 2**31 - 1, "sq8": True, "rebuild_at": 0}),
    ("faiss-hnsw", {"M": np.int64(2048), "rebuild_at": 1}),  # numpy integers are integers; 1 is a number
    ("faiss-ivf", {"nlist": 4, "nprobe": 1, "sq8": False}),
    ("faiss-ivf", {"nlist": None, "nprobe": 10**30}),  # more buckets than exist: all of them
    ("milvus", {"uri": "http://milvus:19530", "collection": "stories", "index": {"index_type": "HNSW"},
                "search_params": {"ef": 96}, "consistency": "Strong"}),
    ("auto", {"threshold": 0, "approximate": "faiss-hnsw", "approximate_params": {"M": 16}}),
    ("auto", {"threshold": 10, "approximate": "milvus", "approximate_params": {}}),
])
def test_good_values_pass(kind, params):
    check_config(kind, params)


def test_a_huge_nprobe_searches_every_bucket():
    embedder = HashingEmbedder()
    index = index_stories(stories(44), embedder, Config(model=embedder.model_id, index_type="faiss-ivf",
                                                           index_params={"nprobe": 10**30}))
    _, keys = index.store.search(index.vectors_at(np.arange(3)), 1)
    assert index.rows_of_keys(keys[:, 0]).tolist() == [0, 1, 2]


def test_more_buckets_than_stories_are_cut_to_the_story_count_with_a_warning(caplog):
    embedder = HashingEmbedder()
    config = Config(model=embedder.model_id, index_type="faiss-ivf", index_params={"nlist": 1000})
    with caplog.at_level(logging.WARNING, logger="search.vectorstore._faiss_ivf"):
        index = index_stories(stories(44), embedder, config)
    assert "nlist 1000 is more buckets than the 44 stories to train them on; using 44" in caplog.text
    assert index.store.params["nlist"] == 44 and len(index.store) == 44
    _, keys = index.store.search(index.vectors_at(np.arange(3)), 1)
    assert index.rows_of_keys(keys[:, 0]).tolist() == [0, 1, 2]
    assert not compatible(index.store, "faiss-ivf", config.index_params)  # an update retrains for the full count

"""The Milvus store against milvus-lite: the interface's behaviour and FAISS's exact top 10 on the seeds.

milvus-lite re-implements the Milvus API in-process, so this checks what we send and how we read the
answers; `test_milvus_server.py` (slow) runs the same comparison against the real engine.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from search import SearchService
from search.collection import Config, index_stories, load_index, save_index
from search.corpus import make_story
from search.vectorstore import FaissFlatStore, create_store, store_class
from search.vectorstore._milvus_store import MilvusStore
from tests.helpers import assert_same_top, clustered, seed_case, vector_keys


def lite(tmp_path: Path, dim: int, collection: str = "stories"):
    return create_store("milvus", dim, {"uri": str(tmp_path / "milvus.db"), "collection": collection})


def test_add_replace_remove_and_round_trip(tmp_path: Path):
    ids, vectors = vector_keys(300), clustered(300, 16)
    store = lite(tmp_path, 16)
    store.add(ids, vectors)
    store.add(ids[:1], vectors[1:2])
    assert len(store) == 300
    np.testing.assert_allclose(store.vector(ids[0]), vectors[1], atol=1e-6)
    store.remove(ids[:10])
    assert len(store) == 290 and len(store.copy()) == 290
    with pytest.raises(KeyError):
        store.vector(ids[0])
    _, found = store.search(vectors[10:12], 1)
    assert found[:, 0].tolist() == ids[10:12].tolist()
    assert store.save(tmp_path) == []
    reopened = store_class("milvus").load(tmp_path, 16, store.params, ids[50:], vectors[50:])
    reopened.sync(ids[50:], vectors[50:])  # the collection is made to hold what the index holds
    assert isinstance(reopened, MilvusStore)
    assert len(reopened) == 250 and sorted(reopened.ids().tolist()) == sorted(ids[50:].tolist())


def test_dev_questions_get_faiss_exact_top10_with_filters_pushed_down(service, dev_queries, tmp_path: Path):
    case = seed_case(service, dev_queries)
    flat, milvus = FaissFlatStore(case["vectors"].shape[1]), lite(tmp_path, case["vectors"].shape[1])
    for store in (flat, milvus):
        store.add(case["keys"], case["vectors"])
    for allowed in (None, case["country"], case["alternate"]):
        assert_same_top(milvus.search(case["queries"], 10, allowed), flat.search(case["queries"], 10, allowed))


def test_an_index_can_be_built_on_milvus_by_configuration(service, tmp_path: Path):
    seeds = service.index
    (tmp_path / "index").mkdir()  # milvus-lite's file inside the index folder: the index may name it
    config = Config(model=seeds.model_id, index_type="milvus",
                    index_params={"uri": str(tmp_path / "index" / "milvus.db"), "collection": "seeds"})
    index = index_stories(list(seeds.stories), service.embedder, config, previous=seeds)  # vectors reused
    assert index.store.kind == "milvus" and len(index.store) == len(seeds)
    save_index(index, tmp_path / "index")
    assert load_index(tmp_path / "index").manifest["index"]["params"]["collection"] == "seeds"


def test_writes_go_to_milvus_as_they_commit(hashed_service, tmp_path: Path):
    """On Milvus the collection is the live state: an add or delete reaches it with its commit, and an index
    reopened against a collection that missed a write is put right."""
    seeds = hashed_service.index
    (tmp_path / "index").mkdir()
    config = Config(model=seeds.model_id, index_type="milvus",
                    index_params={"uri": str(tmp_path / "index" / "milvus.db"), "collection": "writes"})
    save_index(index_stories(list(seeds.stories), hashed_service.embedder, config), tmp_path / "index")
    service = SearchService.open(tmp_path / "index")
    [added] = service.add([make_story("Coast guards trained in sea rescue", "Coast guards of three island states "
                                      "trained in rescuing migrants at sea.")])
    store = service.index.store
    assert len(store) == len(seeds) + 1
    assert service.search("coast guards sea rescue", 1, "dense").hits[0].story.id == added
    gone = seeds.stories[0].id
    service.delete([gone])
    assert len(store) == len(seeds) and gone not in {h.story.id for h in service.search(gone, 50, "dense").hits}
    store.add(np.asarray([12345], dtype=np.int64), np.ones((1, seeds.dim), dtype=np.float32))  # out of band
    reopened = SearchService.open(tmp_path / "index")
    assert len(reopened.index.store) == len(seeds)

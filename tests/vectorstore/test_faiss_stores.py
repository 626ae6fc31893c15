"""Every FAISS store honours the `VectorStore` contract: add, replace, remove, filter, save/load, recall."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from search.vectorstore import VectorStore, create_store, store_class
from search.vectorstore._faiss_hnsw import FaissHNSWStore
from search.vectorstore._faiss_ivf import FaissIVFStore
from tests.helpers import clustered, exact_top, recall, vector_keys

DIM = 64
STORES = [("faiss-flat", {}, 1.0), ("faiss-hnsw", {}, 0.95), ("faiss-ivf", {}, 0.95),
          ("faiss-hnsw", {"sq8": True}, 0.9), ("faiss-ivf", {"sq8": True}, 0.9)]
IDS = [kind + "".join(f"-{name}" for name in params) for kind, params, _ in STORES]


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    vectors = clustered(4000, DIM)
    queries = clustered(50, DIM, seed=7)
    return vector_keys(len(vectors)), vectors, queries


def filled(kind: str, params: dict, data) -> VectorStore:
    ids, vectors, _ = data
    store = create_store(kind, DIM, params)
    store.add(ids, vectors)
    return store


@pytest.mark.parametrize(("kind", "params", "floor"), STORES, ids=IDS)
def test_recall_against_exact(kind, params, floor, data):
    ids, vectors, queries = data
    store = filled(kind, params, data)
    _, found = store.search(queries, 10)
    assert recall(found, exact_top(vectors, ids, queries, 10)) >= floor


@pytest.mark.parametrize(("kind", "params", "floor"), STORES, ids=IDS)
def test_replace_remove_and_filter(kind, params, floor, data):
    ids, vectors, queries = data
    store = filled(kind, params, data)
    assert len(store) == len(ids)
    store.add(ids[:1], vectors[1:2])  # same key, new vector: replaced, not duplicated
    assert len(store) == len(ids)
    np.testing.assert_allclose(store.vector(ids[0]), vectors[1], atol=0.02)
    store.remove(ids[:100])
    store.remove(np.array([12345], dtype=np.int64))  # unknown keys are ignored
    assert len(store) == len(ids) - 100
    _, found = store.search(vectors[:100], 5)
    assert not set(found.ravel().tolist()) & set(ids[:100].tolist())
    with pytest.raises(KeyError):
        store.vector(ids[5])
    for allowed in (ids[200:230], ids[100:3000]):  # a narrow filter (exact path) and a broad one
        _, found = store.search(queries, 10, allowed)
        assert set(found.ravel().tolist()) - {-1} <= set(allowed.tolist())
        inside = np.isin(ids, allowed)
        assert recall(found, exact_top(vectors[inside], ids[inside], queries, 10)) >= floor - 0.05


@pytest.mark.parametrize(("kind", "params", "floor"), STORES, ids=IDS)
def test_copy_is_independent_and_save_load_round_trips(kind, params, floor, data, tmp_path: Path):
    ids, vectors, queries = data
    store = filled(kind, params, data)
    twin = store.copy()
    twin.remove(ids[:10])
    assert len(store) == len(ids) and len(twin) == len(ids) - 10
    files = twin.save(tmp_path)
    assert all((tmp_path / name).is_file() for name in files)
    loaded = store_class(kind).load(tmp_path, DIM, twin.params, ids[10:], vectors[10:])
    assert len(loaded) == len(ids) - 10
    np.testing.assert_array_equal(loaded.search(queries, 10)[1], twin.search(queries, 10)[1])


@pytest.mark.parametrize(("kind", "params", "floor"), STORES, ids=IDS)
def test_a_loaded_store_changes_without_touching_its_saved_file(kind, params, floor, data, tmp_path: Path):
    """Saved engines are opened memory-mapped (shared between processes); one that is then changed, or a copy
    of it, works on a copy in memory: the file, and every process mapping it, stay as they were."""
    ids, vectors, queries = data
    files = filled(kind, params, data).save(tmp_path)
    saved = {name: (tmp_path / name).read_bytes() for name in files}
    loaded = store_class(kind).load(tmp_path, DIM, params, ids, vectors)
    twin = loaded.copy()
    twin.remove(ids[:10])
    loaded.remove(ids[:20])
    loaded.add(ids[:5], vectors[:5])
    assert len(twin) == len(ids) - 10 and len(loaded) == len(ids) - 15
    assert set(loaded.search(queries, 10)[1].ravel().tolist()).isdisjoint(ids[5:20].tolist())
    assert {name: (tmp_path / name).read_bytes() for name in files} == saved


@pytest.mark.parametrize("params", [{"pq": 24}, {"pq": 16, "sq8": True}])
def test_product_quantisation_must_divide_the_vectors_and_stand_alone(params: dict):
    from search import ConfigError

    with pytest.raises(ConfigError, match="pq must divide the dimension"):
        create_store("faiss-ivf", DIM, params)


def test_hnsw_rebuilds_once_tombstones_pile_up(data):
    ids, vectors, queries = data
    store = filled("faiss-hnsw", {"rebuild_at": 0.2}, data)
    assert isinstance(store, FaissHNSWStore)
    store.remove(ids[:500])  # 12.5 %: tombstones, graph unchanged
    assert store._index.ntotal == len(ids)
    store.remove(ids[500:1000])  # past 20 %: rebuilt from the live vectors
    assert store._index.ntotal == len(ids) - 1000 == len(store)
    _, found = store.search(queries, 10)
    assert recall(found, exact_top(vectors[1000:], ids[1000:], queries, 10)) >= 0.9


def test_hnsw_load_rebuilds_a_graph_that_holds_other_stories(data, tmp_path: Path):
    ids, vectors, _ = data
    store = filled("faiss-hnsw", {}, data)
    store.save(tmp_path)
    loaded = FaissHNSWStore.load(tmp_path, DIM, store.params, ids[:100], vectors[:100])
    assert len(loaded) == 100


def test_empty_stores_answer_with_no_results():
    for kind in ("faiss-flat", "faiss-hnsw", "faiss-ivf"):
        _, found = create_store(kind, DIM).search(clustered(2, DIM), 5)
        assert (found == -1).all()


def test_product_quantised_candidates_rescored_exactly_hold_the_true_nearest() -> None:
    """A few bytes of code per vector rank neighbours coarsely: the collection fetches `refine` candidates per
    one wanted and rescores them with the stored vectors, which must bring the exact ten nearest back."""
    points = clustered(20_050, dim=384, clusters=200, spread=0.9)
    vectors, queries = points[:20_000], points[20_000:]
    ids = np.arange(len(vectors))
    store = FaissIVFStore(384, {"pq": 32, "nlist": 256, "nprobe": 256})  # every bucket: only the codes err
    store.add(ids, vectors)
    _, found = store.search(queries, 10 * store.refine)
    rescored = np.stack([c[np.argsort(-(vectors[c] @ q))[:10]] for q, c in zip(queries, found)])
    assert recall(rescored, exact_top(vectors, ids, queries, 10)) >= 0.95

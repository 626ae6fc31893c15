"""The vector store on Milvus, for collections that outgrow one machine: same interface, engine by URI.

`index_params` name the server and collection: `{"uri": "http://milvus.internal:19530", "collection":
"stories"}` for a Milvus server or cluster, or a local file path (`"index/milvus.db"`) for milvus-lite.
A token, when the cluster wants one, comes from `$STORY_SEARCH_MILVUS_TOKEN`, never from the manifest.
Filters are pushed down as `id in [...]` expressions, in slices short enough for the server's expression
limit; the slices' top-k lists are merged, which is exact because each slice's top k is.

The collection is the live state, shared by every `StoryIndex` that opens it: `copy()` returns another
handle on the same collection (a server-side engine cannot be snapshotted per request), and `load()`
re-syncs the collection from the index's own vectors when it holds a different set of stories, which
is what makes an index directory safe to copy to another machine or point at a new cluster.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from ._base import VectorStore, no_results
from ._params import OBJECT, TEXT, one_of

FILTER_SLICE = 4_096  # ids per `id in [...]` expression (each id is up to 20 characters)
WRITE_BATCH = 2_000  # rows per upsert call: under the server's 64 MB message limit at any common dimension
TOKEN_ENV = "STORY_SEARCH_MILVUS_TOKEN"


class MilvusStore(VectorStore):
    kind = "milvus"
    live_writes = True
    # FLAT keeps results identical to FAISS's exact search; on a cluster name e.g. {"index_type": "HNSW",
    # "params": {"M": 32, "efConstruction": 200}} and search_params {"ef": 96}.
    # Session consistency: this process's searches see its own writes, as with the embedded FAISS stores,
    # without Strong's wait for the cluster-wide time tick on every search.
    defaults: dict[str, Any] = {"uri": "milvus.db", "collection": "stories", "index": {"index_type": "FLAT"},
                                "search_params": {}, "consistency": "Session"}
    # The index and search parameters' contents are the server's to judge: they vary with its index types.
    specs = {"uri": TEXT, "collection": TEXT, "index": OBJECT, "search_params": OBJECT,
             "consistency": one_of("Strong", "Session", "Bounded", "Eventually")}

    def __init__(self, dim: int, params: dict[str, Any] | None = None) -> None:
        super().__init__(dim, params)
        try:
            from pymilvus import MilvusClient
        except ImportError:
            raise ConfigError("index type milvus needs pymilvus: pip install 'story-search[milvus]'") from None
        uri = str(self.params["uri"])
        self._client = MilvusClient(uri=uri, token=os.environ.get(TOKEN_ENV, ""))
        self._name = str(self.params["collection"])
        if not self._client.has_collection(self._name):
            self._create()

    def _create(self) -> None:
        from pymilvus import DataType, MilvusClient

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dim)
        index = self._client.prepare_index_params()
        spec = dict(self.params["index"])
        index.add_index(field_name="vector", index_type=spec.pop("index_type", "FLAT"), metric_type="IP", **spec)
        self._client.create_collection(self._name, schema=schema, index_params=index,
                                       consistency_level=str(self.params["consistency"]))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.asarray(vectors, dtype=np.float32)
        for start in range(0, len(ids), WRITE_BATCH):
            rows = [{"id": int(i), "vector": v.tolist()}
                    for i, v in zip(ids[start:start + WRITE_BATCH], vectors[start:start + WRITE_BATCH])]
            self._client.upsert(self._name, rows)

    def remove(self, ids: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        for start in range(0, len(ids), FILTER_SLICE):
            self._client.delete(self._name, ids=ids[start:start + FILTER_SLICE].tolist())

    def _query(self, queries: np.ndarray, k: int, expression: str) -> tuple[np.ndarray, np.ndarray]:
        results = self._client.search(self._name, data=queries.tolist(), limit=k, filter=expression,
                                      output_fields=["id"],
                                      search_params={"metric_type": "IP", "params": dict(self.params["search_params"])})
        scores, ids = no_results(len(queries), k)
        for row, hits in enumerate(results):
            for col, hit in enumerate(hits[:k]):
                scores[row, col], ids[row, col] = hit["distance"], hit["id"]
        return scores, ids

    def limit(self, k: int) -> int:
        """k as asked: counting the collection would cost a round trip per search, and the server answers a
        limit past its size with what it holds."""
        return max(1, k)

    def _search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None,
                excluded: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        if excluded is not None:
            return self._query(queries, k, f"id not in [{','.join(map(str, excluded.tolist()))}]")
        if allowed is None:
            return self._query(queries, k, "")
        parts = [self._query(queries, k, f"id in [{','.join(map(str, allowed[s:s + FILTER_SLICE].tolist()))}]")
                 for s in range(0, len(allowed), FILTER_SLICE)]
        scores, ids = np.hstack([p[0] for p in parts]), np.hstack([p[1] for p in parts])
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(scores, order, axis=1), np.take_along_axis(ids, order, axis=1)

    def vector(self, id: int) -> np.ndarray:
        rows = self._client.get(self._name, ids=[int(id)], output_fields=["vector"])
        if not rows:
            raise KeyError(id)
        return np.asarray(rows[0]["vector"], dtype=np.float32)

    def copy(self) -> MilvusStore:
        twin = MilvusStore.__new__(MilvusStore)
        VectorStore.__init__(twin, self.dim, self.params)
        twin._client, twin._name = self._client, self._name
        return twin

    def __len__(self) -> int:
        rows = self._client.query(self._name, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    def ids(self) -> np.ndarray:
        """Every id in the collection (to check it against an index's stories)."""
        found: list[int] = []
        iterator = self._client.query_iterator(self._name, batch_size=10_000, filter="", output_fields=["id"])
        while batch := iterator.next():
            found.extend(int(row["id"]) for row in batch)
        iterator.close()
        return np.asarray(found, dtype=np.int64)

    def drop(self) -> None:
        """Delete the collection on the server (tests and benchmarks clean up with it)."""
        self._client.drop_collection(self._name)

    def save(self, directory: Path) -> list[str]:
        return []  # the collection lives on the server; the index directory keeps vectors.npy to re-sync from

    @classmethod
    def load(cls, directory: Path, dim: int, params: dict[str, Any], ids: np.ndarray,
             vectors: np.ndarray) -> MilvusStore:
        """Connect. The collection is the live state of the whole index: `sync` checks it against all of it."""
        return cls(dim, params)

    def sync(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """If the collection holds other stories than `ids` (a new cluster, a copied index, a writer that
        died between its commit and its upsert), make it hold exactly these."""
        held = self.ids()
        wanted = np.asarray(ids, dtype=np.int64)
        if not np.array_equal(np.sort(held), np.sort(wanted)):
            self.remove(np.setdiff1d(held, wanted))
            self.add(wanted, vectors)

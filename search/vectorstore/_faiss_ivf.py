"""Approximate search with a FAISS inverted file (IVF): vectors bucketed by a trained coarse quantiser.

A query scans only the `nprobe` buckets nearest to it. Unlike HNSW, IVF deletes for real (`remove_ids`)
and files vectors under the story keys directly, so updates need no bookkeeping here. The quantiser is
trained on the first vectors added (the number of buckets follows the collection size then and is
recorded in the parameters), or on a sample before a large collection is added in chunks (`train`).
Optional SQ8 stores one byte per dimension; optional PQ (`pq`: bytes per vector) a few bytes per vector,
for collections of tens of millions. Both score approximately (`refine`): the collection fetches more
candidates than it wants and rescores them with their stored vectors.

An `nlist` larger than that first batch (1000 buckets asked for 44 stories) cannot be trained: it is
lowered to the batch size with a warning rather than refused. The size is only known here, possibly long
after the configuration was checked (`auto` switches to IVF while an update adds stories, and refusing then
would fail the update over a setting that becomes valid as the collection grows). The manifest records the
count actually used; as it differs from the one asked for, updates retrain the index (cheap at that size)
until the collection is large enough for the full count.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from ..errors import ConfigError
from ._base import SQ8_REFINE, VectorStore, no_results
from ._exact import EXACT_BELOW, selector_for
from ._faiss_files import read_mapped, read_owned
from ._params import BOOLEAN, integer, optional

log = logging.getLogger(__name__)

SAMPLES_PER_LIST = 50  # k-means training points per bucket: enough for stable centroids, cheap to train
# A few bytes of PQ code per vector order neighbours coarsely: the true ten nearest are found among the top
# 20 x 10 estimates, rescored exactly, where twice ten leaves recall@10 well short of 0.95 (the sweep at ten
# million stories: benchmarks/README.md). Reading those vectors back costs little beside scanning the lists.
PQ_REFINE = 20


class FaissIVFStore(VectorStore):
    kind = "faiss-ivf"
    # nlist None: about 2 x sqrt(first batch size). nprobe 64: the smallest setting whose recall@10 against
    # exact search stays above 0.95 from 20k to 1M stories (the sweep: benchmarks/README.md).
    defaults: dict[str, Any] = {"nlist": None, "nprobe": 64, "sq8": False, "pq": None}
    specs = {"nlist": optional(integer(1)), "nprobe": integer(1), "sq8": BOOLEAN, "pq": optional(integer(1))}

    def __init__(self, dim: int, params: dict[str, Any] | None = None) -> None:
        super().__init__(dim, params)
        pq = self.params["pq"]
        if pq is not None and (self.params["sq8"] or dim % pq):
            raise ConfigError(f"faiss-ivf parameter pq must divide the dimension ({dim}) and cannot go with sq8, "
                              f"got pq {pq}" + (" and sq8" if self.params["sq8"] else ""))
        self._index: faiss.Index | None = None  # made on the first add, when the collection size is known
        self._mapped: Path | None = None  # the file `_index` is memory-mapped from, while it is

    def _writable(self) -> faiss.Index:
        """The index, read into memory first if it is mapped (a mapped index must not be written)."""
        if self._mapped is not None:
            self._index, self._mapped = read_owned(self._mapped), None
        assert self._index is not None, "trained on the first add"
        return self._index

    @property
    def refine(self) -> int:
        return PQ_REFINE if self.params["pq"] else SQ8_REFINE if self.params["sq8"] else 1

    def train(self, sample: np.ndarray, total: int) -> None:
        self._index, self._mapped = self._trained(np.ascontiguousarray(sample, dtype=np.float32), total), None

    def _trained(self, sample: np.ndarray, total: int | None = None) -> faiss.Index:
        """An empty index trained on `sample`, with buckets for `total` vectors (default: the sample's size)."""
        size = total or len(sample)
        nlist = self.params["nlist"] or max(1, min(int(2 * math.sqrt(size)), size // 39 or 1))
        if nlist > len(sample):  # k-means cannot make more buckets than it has points
            log.warning("faiss-ivf: nlist %d is more buckets than the %d stories to train them on; using %d",
                        nlist, len(sample), len(sample))
            nlist = len(sample)
        self.params["nlist"] = int(nlist)
        rng = np.random.default_rng(0)
        train = sample if len(sample) <= nlist * SAMPLES_PER_LIST else \
            sample[np.sort(rng.choice(len(sample), nlist * SAMPLES_PER_LIST, replace=False))]
        # PQ learns 256 values per part from at least as many vectors; a tiny collection gets fewer values
        bits = min(8, int(math.log2(max(len(train), 2))))
        codes = f"PQ{self.params['pq']}x{bits}" if self.params["pq"] else "SQ8" if self.params["sq8"] else "Flat"
        index = faiss.index_factory(self.dim, f"IVF{nlist},{codes}", faiss.METRIC_INNER_PRODUCT)
        if self.params["pq"]:
            index.do_polysemous_training = False  # for Hamming-filtered search, which this engine does not use
        index.train(np.ascontiguousarray(train, dtype=np.float32))
        index.set_direct_map_type(faiss.DirectMap.Hashtable)  # reconstruct by story key
        return index

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if not len(ids):
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if self._index is None:
            self._index = self._trained(vectors)
        self.remove(ids)
        self._writable().add_with_ids(vectors, np.asarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> None:
        if self._index is not None and len(ids):
            ids = np.ascontiguousarray(ids, dtype=np.int64)  # the key lookup only takes a plain id array:
            self._writable().remove_ids(faiss.IDSelectorArray(len(ids), faiss.swig_ptr(ids)))

    def _search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None,
                excluded: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        if self._index is None:
            return no_results(len(queries), k)
        nprobe = min(int(self.params["nprobe"]), self._index.nlist)  # past nlist: every bucket
        selector = selector_for(allowed, excluded)
        if allowed is not None and len(allowed) <= EXACT_BELOW:
            nprobe = self._index.nlist  # a narrow filter: visit every bucket, so the few allowed are all seen
        params = faiss.SearchParametersIVF(nprobe=nprobe, sel=selector) if selector is not None \
            else faiss.SearchParametersIVF(nprobe=nprobe)
        return self._index.search(queries, k, params=params)

    def vector(self, id: int) -> np.ndarray:
        try:
            if self._index is None:
                raise RuntimeError
            return self._index.reconstruct(int(id))
        except RuntimeError:
            raise KeyError(id) from None

    def copy(self) -> FaissIVFStore:
        twin = FaissIVFStore(self.dim, self.params)
        if self._mapped is not None:
            twin._index = read_owned(self._mapped)
        elif self._index is not None:
            twin._index = faiss.clone_index(self._index)
        return twin

    def __len__(self) -> int:
        return int(self._index.ntotal) if self._index is not None else 0

    def save(self, directory: Path) -> list[str]:
        if self._index is None:
            return []
        faiss.write_index(self._index, str(directory / "ivf.faiss"))
        return ["ivf.faiss"]

    @classmethod
    def load(cls, directory: Path, dim: int, params: dict[str, Any], ids: np.ndarray,
             vectors: np.ndarray) -> FaissIVFStore:
        """Open the saved index, memory-mapped; rebuild it from the index's vectors if it is missing or holds
        other stories."""
        store = cls(dim, params)
        path = directory / "ivf.faiss"
        if path.is_file():
            store._index, store._mapped = read_mapped(path), path
            if store._index.ntotal == len(ids):
                return store
        store = cls(dim, params)
        store.add(ids, vectors)
        return store

"""A base segment written a chunk at a time, for collections too large to hold in memory (tens of millions).

`index_build.index_stories` holds every story, vector and posting in memory and sorts the postings in one go: at ten
million stories that is tens of GB. `write_base` takes the stories and their vectors as a stream of chunks and
writes the files `Segment.save` writes, holding about one chunk at a time:

- stories are appended to `stories.jsonl`, vectors written into `vectors.npy` mapped from disk, keys,
  dates and countries kept as arrays;
- each chunk's BM25 postings go to a scratch file, and are merged term by term at the end: chunks come in
  row order, so a term's entries are its entries in each chunk one after the other (placed, never sorted);
- the vector engine is trained on a sample of the written vectors, then filled from the mapped file a slice at
  a time (`VectorStore.train`);
- the calibration's titles are a seeded sample drawn as the stories go by, their best cosines read from the
  mapped vectors in batches.

The segment is then committed as a build commits, under the folder's lock, in one manifest rename. The
stories must be merged already (no two with one id); no map is laid out (`Config.map` must be off). Its
corpus fingerprint is a hash of the stories in the order given, not the order-free one `build` compares, so a
later `build` over the same corpus builds again rather than calling it up to date.
"""
from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..corpus import Story, majority_language
from ..embedding import Embedder
from ..vectorstore import VectorStore, check_config, choose, create_store
from ._arrays import mapped, save_array
from ._calibration import TITLES, Calibration
from ._columns import Columns
from ._config import Config
from ._edits import Edits
from ._index_files import committed
from ._postings import NO_COUNTS, Postings
from ._segment import BASE, KEY_ROWS, KEYS, META, SORTED_KEYS, STORIES, VECTORS, Segment, vector_keys
from ._storage import prepare, writer_lock
from ._story_file import OFFSETS, story_line
from ._story_index import StoryIndex

log = logging.getLogger(__name__)

SCRATCH = "scratch"  # a folder inside the segment being written, removed before it is committed
TRAIN_SAMPLE = 250_000  # vectors the engine learns from, drawn across the whole collection
ADD_SLICE = 100_000  # vectors handed to the engine at once
LANGUAGE_SAMPLE = 1000  # stories whose language is read, spread over the stream


def write_base(root: Path, chunks: Iterable[tuple[Sequence[Story], np.ndarray]], count: int, embedder: Embedder,
               config: Config) -> StoryIndex:
    """Write `count` stories, given with their vectors (of `embedder`'s model) in chunks, as a new index at
    `root` of one base segment, replacing what was there; returns the index as committed."""
    check_config(config.index_type, config.index_params)
    if config.map:
        raise ValueError("a base written in chunks has no map: give a configuration with map=False")
    if config.model_id != embedder.model_id:
        raise ValueError(f"configuration names model {config.model_id!r} but {embedder.model_id!r} was given")
    writer = _BaseWriter(count, embedder, config)
    prepared = prepare(root, lambda folder: writer.write(folder, chunks), BASE, count)
    try:
        assert writer.engine is not None
        segment = Segment.load(prepared.folder, "", count, embedder.dim, writer.engine, prepared.files)
        index = StoryIndex(config, embedder.model_id, embedder.dim, [segment],
                           corpus_fingerprint=writer.fingerprint.hexdigest())
        with writer_lock(root):
            return committed(index, root, {}, [prepared])
    except BaseException:
        prepared.discard()
        raise


class _BaseWriter:
    def __init__(self, count: int, embedder: Embedder, config: Config) -> None:
        self.count, self.embedder, self.config = count, embedder, config
        self.fingerprint = hashlib.sha256()
        self.engine: tuple[str, dict[str, Any]] | None = None
        self._rng = np.random.default_rng(0)
        self._titles: list[str] = []  # a reservoir sample of the titles seen
        self._titled = 0
        self._texts: list[str] = []  # the stories whose language is read
        self._terms: dict[str, int] = {}
        self._parts: list[tuple[np.ndarray, np.ndarray, Path]] = []  # per chunk: global term ids, counts, entries

    def write(self, folder: Path, chunks: Iterable[tuple[Sequence[Story], np.ndarray]]) -> list[str]:
        """Write the segment's files into `folder` (`storage.prepare` checksums and commits them)."""
        scratch = folder / SCRATCH
        scratch.mkdir()
        dim = self.embedder.dim
        written = np.lib.format.open_memmap(folder / VECTORS, mode="w+", dtype=np.float32, shape=(self.count, dim))
        keys = np.empty(self.count, dtype=np.int64)
        offsets = np.zeros(self.count + 1, dtype=np.int64)
        lengths = np.empty(self.count, dtype=np.float32)
        columns: list[Columns] = []
        start, started = 0, time.monotonic()
        with (folder / STORIES).open("wb") as out:
            for stories, chunk_vectors in chunks:
                end = start + len(stories)
                if end > self.count or chunk_vectors.shape != (len(stories), dim):
                    raise ValueError(f"chunk of {len(stories)} stories and vectors {chunk_vectors.shape} does not fit "
                                     f"a segment of {self.count} stories of dimension {dim} after {start}")
                for row, story in enumerate(stories, start):
                    line = story_line(story)
                    out.write(line)
                    offsets[row + 1] = offsets[row] + len(line)
                    self.fingerprint.update(line)
                written[start:end] = chunk_vectors
                keys[start:end] = vector_keys(stories)
                columns.append(Columns.of(stories))
                lengths[start:end] = self._spill(stories, start, scratch / f"{len(self._parts)}.npz")
                self._sample(stories, start)
                start = end
                log.info("%d of %d stories written (%.0f s)", end, self.count, time.monotonic() - started)
        if start != self.count:
            raise ValueError(f"the chunks held {start} stories, not the {self.count} announced")
        written.flush()
        del written
        vectors = mapped(folder / VECTORS)
        order = np.argsort(keys, kind="stable")
        if np.any(np.diff(keys[order]) == 0):
            raise ValueError("two stories share an id; give them distinct ids")
        files = [STORIES, VECTORS, *(save_array(folder, name, array) for name, array in (
            (OFFSETS.removesuffix(".npy"), offsets), (KEYS, keys), (SORTED_KEYS, keys[order]), (KEY_ROWS, order)))]
        files += self._postings(folder, lengths)
        files += Columns.join(columns, np.cumsum([0, *(c.size for c in columns[:-1])]),
                              np.ones(self.count, dtype=bool)).save(folder)
        shutil.rmtree(scratch)
        store = self._engine(keys, vectors)
        self.engine = (store.kind, store.params)
        files += store.save(folder)
        calibration = Calibration.of_titles(sorted(self._titles), majority_language(self._texts), vectors,
                                            self.embedder)
        files += calibration.save(folder)
        meta = {"kind": BASE, "deletes": [], "dead": NO_COUNTS.to_dict(), "edits": Edits().to_dict()}
        (folder / META).write_text(json.dumps(meta), encoding="utf-8")
        return [*files, META]

    def _spill(self, stories: Sequence[Story], start: int, path: Path) -> np.ndarray:
        """A chunk's postings to a scratch file (rows numbered in the segment), its terms as global ids; the
        chunk's lengths."""
        postings = Postings.build([s.text for s in stories])
        ids = np.fromiter((self._terms.setdefault(t, len(self._terms)) for t in postings.terms), dtype=np.int64,
                          count=len(postings.terms))
        np.savez(path, rows=postings.rows + np.int32(start), tf=postings.tf)
        self._parts.append((ids, np.diff(postings.indptr), path))
        return postings.lengths

    def _postings(self, folder: Path, lengths: np.ndarray) -> list[str]:
        """The chunks' postings as one segment's: each term's entries, chunk after chunk (rows stay ascending)."""
        held = np.zeros(len(self._terms), dtype=np.int64)
        for ids, counts, _ in self._parts:
            np.add.at(held, ids, counts)
        indptr = np.concatenate([[0], np.cumsum(held)]).astype(np.int64)
        rows = np.lib.format.open_memmap(folder / "rows.npy", mode="w+", dtype=np.int32, shape=(int(indptr[-1]),))
        tf = np.lib.format.open_memmap(folder / "tf.npy", mode="w+", dtype=np.float32, shape=(int(indptr[-1]),))
        placed = np.zeros(len(self._terms), dtype=np.int64)
        for ids, counts, path in self._parts:
            with np.load(path, allow_pickle=False) as part:
                first = np.repeat(indptr[ids] + placed[ids] - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
                at = first + np.arange(len(first), dtype=np.int64)
                rows[at], tf[at] = part["rows"], part["tf"]
            placed[ids] += counts
        rows.flush()
        tf.flush()
        (folder / "terms.json").write_text(json.dumps(list(self._terms), ensure_ascii=False), encoding="utf-8")
        return ["terms.json", "rows.npy", "tf.npy", save_array(folder, "indptr", indptr),
                save_array(folder, "lengths", lengths)]

    def _sample(self, stories: Sequence[Story], start: int) -> None:
        """Keep a uniform sample of TITLES titles (reservoir sampling, seeded) and of the stories' texts."""
        for story in stories:
            if not story.title.strip():
                continue
            self._titled += 1
            if len(self._titles) < TITLES:
                self._titles.append(story.title)
            elif (slot := int(self._rng.integers(self._titled))) < TITLES:
                self._titles[slot] = story.title
        step = max(1, self.count // LANGUAGE_SAMPLE)
        self._texts += [stories[i].text for i in range((-start) % step, len(stories), step)]

    def _engine(self, keys: np.ndarray, vectors: np.ndarray) -> VectorStore:
        """The configured engine, trained on a sample of every vector, then filled a slice at a time."""
        kind, params = choose(self.config.index_type, self.config.index_params, self.count)
        store = create_store(kind, self.embedder.dim, params)
        sample = np.sort(self._rng.choice(self.count, min(self.count, TRAIN_SAMPLE), replace=False))
        started = time.monotonic()
        store.train(vectors[sample], self.count)
        log.info("%s trained on %d vectors (%.0f s)", kind, len(sample), time.monotonic() - started)
        for start in range(0, self.count, ADD_SLICE):
            store.add(keys[start:start + ADD_SLICE], vectors[start:start + ADD_SLICE])
        log.info("%s holds %d vectors (%.0f s)", kind, len(store), time.monotonic() - started)
        return store

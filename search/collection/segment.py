"""A segment: stories written together, with their vectors, BM25 postings and metadata columns.

A built index is one base segment; each write after it commits a small delta segment: the stories it adds
or updates, and the ids of the stories it deletes or replaces in earlier segments (with their BM25
statistics, so the collection's stay exact). Segments are written once and never changed: a merge writes a
new segment in place of several. Only the base carries a vector engine; a delta is small enough to score
exactly.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import bounded_json
from ..corpus import Story
from ..vectorstore import VectorStore
from .atlas import Atlas
from .calibration import Calibration
from .columns import Columns
from .edits import Edits
from .lexical import NO_COUNTS, Postings, TermCounts

BASE, DELTA = "base", "delta"
STORIES, VECTORS, META = "stories.jsonl", "vectors.npy", "meta.json"


def vector_key(story_id: str) -> int:
    """The int64 key a vector engine files a story under: stable, like the story id it comes from."""
    return int.from_bytes(hashlib.sha256(story_id.encode("utf-8")).digest()[:8], "big") >> 1


def vector_keys(stories: Sequence[Story]) -> np.ndarray:
    return np.fromiter((vector_key(s.id) for s in stories), dtype=np.int64, count=len(stories))


@dataclass(frozen=True, eq=False)
class Segment:
    name: str
    kind: str  # BASE or DELTA
    stories: list[Story]
    vectors: np.ndarray  # float32 (len(stories), dim); memory-mapped once saved
    postings: Postings
    columns: Columns
    deletes: tuple[str, ...] = ()  # ids whose story in an earlier segment this one deletes or replaces
    dead: TermCounts = NO_COUNTS  # the BM25 statistics of those deleted stories
    edits: Edits = Edits()  # what writes changed: a base's since its corpus was built (kept by merges), a delta's own
    store: VectorStore | None = None  # a base's vector engine
    atlas: Atlas | None = None  # its stories' points on the collection's map (None: the index has no map)
    calibration: Calibration | None = None  # where its stories put the collection's cosine levels
    keys: np.ndarray = field(init=False)
    rows: dict[str, int] = field(init=False)  # story id -> row

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", vector_keys(self.stories))
        object.__setattr__(self, "rows", {s.id: row for row, s in enumerate(self.stories)})
        order = np.argsort(self.keys)
        object.__setattr__(self, "_sorted", (self.keys[order], order))

    @classmethod
    def create(cls, name: str, kind: str, stories: Sequence[Story], vectors: np.ndarray,
               postings: Postings | None = None, **extra: Any) -> Segment:
        """A segment of `stories`; `postings`, when given, are their BM25 postings (built while they embedded)."""
        stories = list(stories)
        return cls(name, kind, stories, np.ascontiguousarray(vectors, dtype=np.float32),
                   postings or Postings.build([s.text for s in stories]), Columns.of(stories), **extra)

    def __len__(self) -> int:
        return len(self.stories)

    def rows_of_keys(self, keys: np.ndarray) -> np.ndarray:
        """Rows of vector keys; -1 for keys this segment does not hold."""
        sorted_keys, rows = self._sorted  # type: ignore[attr-defined]
        if not len(sorted_keys):
            return np.full(len(keys), -1, dtype=np.int64)
        at = np.searchsorted(sorted_keys, keys).clip(max=len(sorted_keys) - 1)
        return np.where(sorted_keys[at] == keys, rows[at], -1)

    def meta(self) -> dict[str, Any]:
        return {"kind": self.kind, "deletes": list(self.deletes), "dead": self.dead.to_dict(),
                "edits": self.edits.to_dict()}

    def save(self, folder: Path) -> list[str]:
        """Write the segment's files into `folder`; returns their names (for the manifest's checksums)."""
        with (folder / STORIES).open("w", encoding="utf-8") as f:
            for story in self.stories:
                f.write(json.dumps(story.to_dict(), ensure_ascii=False) + "\n")
        np.save(folder / VECTORS, self.vectors, allow_pickle=False)
        (folder / META).write_text(json.dumps(self.meta(), ensure_ascii=False), encoding="utf-8")
        engine = self.store.save(folder) if self.store is not None else []
        points = self.atlas.save(folder) if self.atlas is not None else []
        assert self.calibration is not None, "a segment is calibrated before it is saved"
        return [STORIES, VECTORS, META, *self.postings.save(folder), *engine, *points,
                *self.calibration.save(folder)]

    @classmethod
    def load(cls, folder: Path, name: str, size: int, dim: int, engine: tuple[str, dict[str, Any]] | None = None,
             mapped: bool = False) -> Segment:
        """Open the segment saved in `folder` (already checked against the manifest's checksums); `mapped`: it
        holds its stories' points on the map.

        A file that parses but holds the wrong thing (an object array, a field of another type, arrays that
        disagree) raises ValueError, KeyError or TypeError; the caller turns that into `IndexCorruptError`.
        """
        from ..vectorstore import store_class

        with (folder / STORIES).open(encoding="utf-8") as f:
            stories = [Story.from_dict(bounded_json.loads(line)) for line in f]
        vectors = np.load(folder / VECTORS, mmap_mode="r", allow_pickle=False)
        if len(stories) != size or vectors.dtype != np.float32 or vectors.shape != (size, dim):
            raise ValueError(f"segment {name} holds {len(stories)} stories and {vectors.dtype} vectors "
                             f"{vectors.shape}, its manifest entry says {size} of dimension {dim}")
        meta = bounded_json.loads((folder / META).read_text(encoding="utf-8"))
        kind = meta["kind"]
        if kind not in (BASE, DELTA) or not all(isinstance(i, str) for i in meta["deletes"]):
            raise ValueError(f"segment {name} has an unreadable meta.json")
        atlas = Atlas.load(folder, size) if mapped else None
        calibration = Calibration.load(folder, kind == BASE, dim)
        segment = cls(name, kind, stories, vectors, Postings.load(folder, size), Columns.of(stories),
                      tuple(meta["deletes"]), TermCounts.from_dict(meta["dead"]), Edits.from_dict(meta["edits"]),
                      atlas=atlas, calibration=calibration)
        if engine is not None:
            kind_, params = engine
            store = store_class(kind_).load(folder, dim, params, segment.keys, vectors)
            object.__setattr__(segment, "store", store)
        return segment

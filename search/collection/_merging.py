"""Merges: when deltas have piled up, fold them into fewer segments without stopping searches or writes.

Deltas are cheap to write but each one is searched on its own (exactly, for vectors) and keeps the rows of
the stories it replaced; merges keep both costs bounded. Once `MAX_DELTAS` deltas exist they are folded
into one (cheap, in proportion to the deltas); once the deltas and the base's dead rows pass a share of
the base, everything is folded into a new base (in proportion to the collection). A merge reads a snapshot,
builds and writes its segment without the writer lock, then commits under it, keeping every delta committed
meanwhile after the merged segment, so no write that arrives during a merge is lost.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ._atlas import Atlas
from ._columns import Columns
from ._edits import Edits
from ._index_build import updated_store
from ._index_files import committed, prepare_new, refreshed
from ._postings import Postings, TermCounts
from ._segment import BASE, DELTA, Segment, vector_keys
from ._storage import writer_lock
from ._story_index import StoryIndex

log = logging.getLogger(__name__)
MAX_DELTAS = 8
MAJOR_SHARE = 0.02  # deltas plus dead base rows, as a share of the base, that call for a new base
MAJOR_MIN = 1000  # ... but never for fewer rows than this: small collections fold their deltas instead


def due(index: StoryIndex) -> str | None:
    """"major", "minor" or None: the merge this index needs now."""
    deltas = index.segments[1:]
    if not deltas:
        return None
    base = len(index.segments[0])
    churn = sum(len(d) for d in deltas) + int((~index.live[:base]).sum())
    if churn > max(MAJOR_MIN, MAJOR_SHARE * base):
        return "major"
    return "minor" if len(deltas) >= MAX_DELTAS else None


def compact(root: Path, index: StoryIndex, kind: str = "major") -> StoryIndex:
    """Merge the index at `root` ("major": into one base; "minor": its deltas into one) and commit it.

    `index` is this process's latest copy. Returns the index as committed, or as it is now if another writer
    replaced the segments this merge read (a rebuild, another merge) while it ran.
    """
    with writer_lock(root):
        snapshot = refreshed(index, root)
    merged = compacted(snapshot, deltas_only=(kind == "minor"))
    if merged is snapshot:
        return snapshot
    prepared = prepare_new(merged, root, snapshot.entries)
    with writer_lock(root):
        current = refreshed(index, root)
        read = [s.name for s in snapshot.segments]
        if [s.name for s in current.segments[:len(read)]] != read:
            for p in prepared:
                p.discard()
            log.info("merge of %s dropped: another writer replaced those segments meanwhile", root)
            return current
        later = current.segments[len(read):]
        result = StoryIndex(current.config, current.model_id, current.dim, [*merged.segments, *later],
                            current.manifest, current.corpus_fingerprint)
        return committed(result, root, current.entries, prepared)


def compacted(index: StoryIndex, deltas_only: bool = False) -> StoryIndex:
    """The same stories in fewer segments: every segment folded into a new base, or (`deltas_only`, cheap
    at any size) every delta into one. Dead rows are dropped; nothing is embedded or tokenized again but
    the few stories whose deletion a folded delta recorded against the base."""
    first = 1 if deltas_only else 0
    merged = index.segments[first:]
    if not merged:
        return index
    keep = [index.live[int(o):int(o) + len(s)] for o, s in zip(index.offsets[first:], merged)]
    stories = [s.stories[r] for s, k in zip(merged, keep) for r in np.flatnonzero(k).tolist()]
    vectors = np.concatenate([np.asarray(s.vectors[k]) for s, k in zip(merged, keep)]) if stories \
        else np.zeros((0, index.dim), dtype=np.float32)
    postings = Postings.merge([(s.postings, k) for s, k in zip(merged, keep)])
    points = index.atlas_rows()
    atlas = None if points is None else points.rows(np.concatenate(
        [np.flatnonzero(k) + int(o) for k, o in zip(keep, index.offsets[first:])]))
    if deltas_only:
        base = index.segments[0]
        killed = [int(r) for r in np.flatnonzero(~index.live[:len(base)])]
        deletes = tuple(base.stories[r].id for r in killed)
        dead = TermCounts.of(base.stories[r].text for r in killed)
        edits = Edits()
        for delta in merged:
            edits = edits.after_delete(delta.edits.deleted).after_upsert(delta.edits.upserted)
        segment = Segment("", DELTA, stories, vectors, postings, Columns.of(stories), deletes, dead, edits,
                          atlas=None if atlas is None else Atlas(atlas.coords, atlas.topics, (), 0),
                          calibration=index.calibration.over(vectors))
        return StoryIndex(index.config, index.model_id, index.dim, [base, segment], index.manifest,
                          index.corpus_fingerprint)
    store = updated_store(stories, vector_keys(stories), vectors, index.dim, index.config, index.segments[0],
                          dead=index.dead_base_keys)
    segment = Segment("", BASE, stories, vectors, postings, Columns.of(stories), edits=index.edits, store=store,
                      atlas=atlas, calibration=index.calibration.over(vectors, base=True))
    return StoryIndex(index.config, index.model_id, index.dim, [segment], index.manifest, index.corpus_fingerprint)

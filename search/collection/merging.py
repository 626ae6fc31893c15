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

from .storage import prepare, writer_lock
from .story_index import StoryIndex

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
        snapshot = index.refreshed(root)
    merged = snapshot.compacted(deltas_only=(kind == "minor"))
    if merged is snapshot:
        return snapshot
    fresh = [s for s in merged.segments if s.name not in snapshot.entries]
    prepared = [prepare(root, s.save, s.kind, len(s)) for s in fresh]
    with writer_lock(root):
        current = index.refreshed(root)
        read = [s.name for s in snapshot.segments]
        if [s.name for s in current.segments[:len(read)]] != read:
            for p in prepared:
                p.discard()
            log.info("merge of %s dropped: another writer replaced those segments meanwhile", root)
            return current
        later = current.segments[len(read):]
        result = StoryIndex(current.config, current.model_id, current.dim, [*merged.segments, *later],
                            current.manifest, current.corpus_fingerprint)
        written = iter(prepared)
        parts = [current.entries[s.name] if s.name in current.entries else next(written) for s in result.segments]
        return result.committed(root, parts)

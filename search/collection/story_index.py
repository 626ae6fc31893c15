"""`StoryIndex`: the stories, their vectors, the vector store and the lexical index, as one consistent unit.

An index is immutable once built: adding stories makes a new `StoryIndex` (sharing nothing mutable with
the old one), which is what lets searches keep running on the old index while an update is prepared, and
lets the service swap indexes with one assignment.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..corpus import Story, resolve_updates, tag_countries
from ..embedding import Embedder, canonical_model_id, load_embedder
from ..errors import IndexCorruptError, IndexMismatchError, UnknownStoryError
from ..vectorstore import VectorStore, check_config, choose, compatible, create_store, store_class
from .atlas import FILE as ATLAS_FILE
from .atlas import Atlas, carry_over, lay_out
from .columns import Columns
from .config import Config
from .edits import Edits
from .embed_cache import embed_with_cache
from .lexical import LexicalIndex
from .storage import FORMAT_VERSION, REBUILD_HINT, generation_dir, read_manifest, write_generation, writer_lock

log = logging.getLogger(__name__)
COPY_CANDIDATES = 10  # nearest stories searched for copies of an added one


def vector_key(story_id: str) -> int:
    """The int64 key a vector engine files a story under: stable, like the story id it comes from."""
    return int.from_bytes(hashlib.sha256(story_id.encode("utf-8")).digest()[:8], "big") >> 1


def fingerprint(stories: Iterable[Story]) -> str:
    """Changes with any story's id, text or metadata (a corrected date is a change to rebuild for too)."""
    lines = sorted(json.dumps(s.to_dict(), ensure_ascii=False, sort_keys=True) for s in stories)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


class StoryIndex:
    def __init__(self, config: Config, model_id: str, stories: Sequence[Story], vectors: np.ndarray,
                 store: VectorStore, lexical: LexicalIndex, manifest: dict[str, Any] | None = None,
                 edits: Edits = Edits(), corpus_fingerprint: str | None = None, atlas: Atlas | None = None) -> None:
        self.config = config
        self.model_id = model_id
        self.stories = list(stories)
        self.vectors = vectors
        self.store = store
        self.lexical = lexical
        self.keys = np.fromiter((vector_key(s.id) for s in self.stories), dtype=np.int64, count=len(self.stories))
        self._row_of_id = {s.id: row for row, s in enumerate(self.stories)}
        order = np.argsort(self.keys)
        self._sorted_keys, self._rows_by_key = self.keys[order], order
        self.columns = Columns(self.stories)
        self.manifest = manifest or {}
        self.edits = edits
        # The corpus this index was built from, kept through edits: how `build` tells whether it changed.
        self.corpus_fingerprint = corpus_fingerprint or fingerprint(self.stories)
        self.atlas = atlas  # the map of the collection (collection.atlas); None for an index built before maps

    # --- lookups -------------------------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return len(self.stories)

    def row(self, story_id: str) -> int:
        try:
            return self._row_of_id[story_id]
        except KeyError:
            raise UnknownStoryError(story_id) from None

    def rows_of_keys(self, keys: np.ndarray) -> np.ndarray:
        """Rows for vector-store keys; -1 (the engines' "no result") stays -1."""
        if not len(self._sorted_keys):
            return np.full(len(keys), -1, dtype=np.int64)
        pos = np.searchsorted(self._sorted_keys, keys).clip(max=len(self._sorted_keys) - 1)
        return np.where(self._sorted_keys[pos] == keys, self._rows_by_key[pos], -1)

    # --- building ------------------------------------------------------------------------------------------
    @classmethod
    def build(cls, stories: Sequence[Story], embedder: Embedder, config: Config = Config(), *,
              previous: StoryIndex | None = None, cache_dir: Path | None = None, progress: bool = False,
              edits: Edits = Edits(), corpus_fingerprint: str | None = None,
              fresh: Mapping[str, np.ndarray] | None = None, keep_map: bool = False) -> StoryIndex:
        """Index `stories` (already merged), embedding only texts that neither `previous` nor the cache know.

        `edits` records which of them writes changed since `corpus_fingerprint`'s corpus was built; `fresh`
        holds vectors just embedded, by content hash. A build lays the map out afresh; with `keep_map` (writes)
        new stories are placed on `previous`'s map instead."""
        check_config(config.index_type, config.index_params)
        if config.model_id != embedder.model_id:
            raise IndexMismatchError(f"configuration names model {config.model_id!r} but {embedder.model_id!r} was given")
        vectors = embed_with_cache(stories, embedder, previous=previous, cache_dir=cache_dir,
                                   chunk_size=config.chunk_size, progress=progress, fresh=fresh)
        keys = np.fromiter((vector_key(s.id) for s in stories), dtype=np.int64, count=len(stories))
        if len(np.unique(keys)) != len(keys):
            raise ValueError("two stories share an id; give them distinct ids in the corpus")
        store = cls._updated_store(stories, keys, vectors, embedder.dim, config, previous)
        lexical = LexicalIndex.build([s.text for s in stories])
        atlas = _map_hook(stories, vectors, lexical, previous if keep_map else None)
        return cls(config, embedder.model_id, stories, vectors, store, lexical, edits=edits,
                   corpus_fingerprint=corpus_fingerprint, atlas=atlas)

    @staticmethod
    def _updated_store(stories: Sequence[Story], keys: np.ndarray, vectors: np.ndarray, dim: int, config: Config,
                       previous: StoryIndex | None) -> VectorStore:
        """Apply only the difference to a reusable previous store; build a new one otherwise."""
        kind, params = choose(config.index_type, config.index_params, len(stories),
                              previous.store if previous is not None else None)
        reusable = previous is not None and previous.dim == dim and compatible(previous.store, kind, params)
        if not reusable:
            store = create_store(kind, dim, params)
            store.add(keys, vectors)
            return store
        assert previous is not None
        store = previous.store.copy()
        old = {s.id: s.content_hash for s in previous.stories}
        new_ids = {s.id for s in stories}
        gone = [vector_key(i) for i in old if i not in new_ids]
        changed = [row for row, s in enumerate(stories) if old.get(s.id) != s.content_hash]
        store.remove(np.asarray(gone, dtype=np.int64))
        if changed:
            store.add(keys[changed], vectors[changed])
        return store

    def with_stories(self, incoming: Sequence[Story], embedder: Embedder, own_ids: Collection[str] = (), *,
                     cache_dir: Path | None = None, progress: bool = False) -> tuple[StoryIndex, list[str]]:
        """A new index with `incoming` filed in (`dedupe.resolve_updates`), and the id each was filed under.

        Copies are looked for among each story's nearest neighbours by vector (a copy shares at least half
        its wording, so it sits among them), not across the whole collection: an add costs the same against
        fifty stories or a million (MinHash over 20,000 stories took 8 s: `python -m benchmarks.writes`).
        """
        vectors = embed_with_cache(incoming, embedder, previous=self, cache_dir=cache_dir,
                                   chunk_size=self.config.chunk_size, progress=progress)
        rows = {self._row_of_id[s.id] for s in incoming if s.id in self._row_of_id}
        if len(self):
            _, keys = self.store.search(vectors, COPY_CANDIDATES)
            rows.update(int(r) for r in self.rows_of_keys(keys.ravel()) if r >= 0)
        filed, ids = resolve_updates([self.stories[r] for r in sorted(rows)], incoming, own_ids, taken=self._row_of_id)
        replaced = {s.id for s in filed}
        stories = [s for s in self.stories if s.id not in replaced] + [tag_countries(s) for s in filed]
        fresh = {s.content_hash: v for s, v in zip(incoming, vectors)}
        index = StoryIndex.build(stories, embedder, self.config, previous=self, cache_dir=cache_dir, fresh=fresh,
                                 edits=self.edits.after_upsert(replaced), corpus_fingerprint=self.corpus_fingerprint,
                                 keep_map=True)
        return index, ids

    def without(self, story_ids: Iterable[str], embedder: Embedder) -> StoryIndex:
        drop = set(story_ids)
        for story_id in drop:
            self.row(story_id)  # unknown ids are an error, not a silent no-op
        return StoryIndex.build([s for s in self.stories if s.id not in drop], embedder, self.config, previous=self,
                                edits=self.edits.after_delete(drop), corpus_fingerprint=self.corpus_fingerprint,
                                keep_map=True)

    # --- persistence ---------------------------------------------------------------------------------------
    def save(self, root: Path, builds_on: str | None = None) -> dict[str, Any]:
        """Persist as a new generation; `builds_on` (the generation this index was derived from) guards
        against overwriting another writer's commit."""
        def write(folder: Path) -> list[str]:
            with (folder / "stories.jsonl").open("w", encoding="utf-8") as f:
                for story in self.stories:
                    f.write(json.dumps(story.to_dict(), ensure_ascii=False) + "\n")
            np.save(folder / "vectors.npy", np.ascontiguousarray(self.vectors, dtype=np.float32), allow_pickle=False)
            files = ["stories.jsonl", "vectors.npy", *self.lexical.save(folder), *self.store.save(folder)]
            return files + (self.atlas.save(folder) if self.atlas is not None else [])  # map hook

        manifest = {
            "model": {"id": self.model_id, "dim": self.dim},
            "index": {"type": self.store.kind, "params": self.store.params},
            "story_count": len(self.stories),
            "corpus_fingerprint": self.corpus_fingerprint,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "config": self.config.to_dict(),
            "edits": self.edits.to_dict(),
        }
        with writer_lock(root):
            self.manifest = write_generation(root, write, manifest, builds_on)
        return self.manifest

    @classmethod
    def load(cls, root: Path, expected_model: str | None = None, embedder_dim: int | None = None,
             verify: bool = True) -> StoryIndex:
        """Open the index at `root`, refusing one that this code or this model cannot use."""
        manifest = read_manifest(root)
        check_compatible(root, manifest, expected_model, embedder_dim)
        hint = REBUILD_HINT.format(root=root)
        model_id, dim = manifest["model"]["id"], int(manifest["model"]["dim"])
        folder = generation_dir(root, manifest, verify=verify)
        try:  # checksums only prove the files are as written; a hand-made index must still be data, not code
            with (folder / "stories.jsonl").open(encoding="utf-8") as f:
                stories = [Story.from_dict(json.loads(line)) for line in f]
            vectors = np.load(folder / "vectors.npy", mmap_mode="r", allow_pickle=False)
            lexical = LexicalIndex.load(folder, len(stories))
            atlas = Atlas.load(folder, len(stories)) if ATLAS_FILE in manifest["files"] else None  # map hook
        except (ValueError, KeyError, TypeError, OSError) as exc:  # object arrays (pickles) are a ValueError
            raise IndexCorruptError(f"index at {root}/ holds an unreadable file ({exc}); {hint}") from None
        if vectors.dtype != np.float32:
            raise IndexCorruptError(f"index at {root}/ holds {vectors.dtype} vectors, not float32; {hint}")
        if vectors.shape != (len(stories), dim) or manifest.get("story_count") != len(stories):
            raise IndexMismatchError(f"index at {root}/ is inconsistent ({len(stories)} stories, vectors "
                                     f"{vectors.shape}, manifest says {manifest.get('story_count')}); {hint}")
        config = Config.from_dict(manifest.get("config", {}))
        keys = np.fromiter((vector_key(s.id) for s in stories), dtype=np.int64, count=len(stories))
        store = store_class(manifest["index"]["type"]).load(folder, dim, manifest["index"]["params"], keys, vectors)
        return cls(config, model_id, stories, vectors, store, lexical, manifest, Edits.from_dict(manifest.get("edits")),
                   manifest.get("corpus_fingerprint"), atlas)


# --- map hook: where collection.atlas meets the index (a build lays out, a write places) --------------------------
def _map_key(story: Story) -> str:
    return f"{story.id}\x00{story.content_hash}"


def _map_hook(stories: Sequence[Story], vectors: np.ndarray, lexical: LexicalIndex,
              previous: StoryIndex | None) -> Atlas | None:
    if not stories:
        return None
    if previous is not None:
        if previous.atlas is None:
            return None
        return carry_over(previous.atlas, [_map_key(s) for s in previous.stories], [_map_key(s) for s in stories],
                          vectors)
    started = time.perf_counter()
    weights, terms = lexical.weights()
    atlas = lay_out(np.asarray(vectors, dtype=np.float32), weights, terms, [s.text for s in stories])
    log.info("map of %d stories laid out in %.1f s", len(stories), time.perf_counter() - started)
    return atlas


def check_compatible(root: Path, manifest: dict[str, Any], expected_model: str | None = None,
                     embedder_dim: int | None = None) -> None:
    """Refuse an index of another format version, model or dimension, saying how to rebuild."""
    hint = REBUILD_HINT.format(root=root)
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(f"index at {root}/ has format version {manifest.get('format_version')}, this "
                                 f"version of story-search reads version {FORMAT_VERSION}; {hint}")
    model_id, dim = manifest["model"]["id"], int(manifest["model"]["dim"])
    if expected_model and expected_model != model_id:
        raise IndexMismatchError(
            f"index at {root}/ was built with model {model_id!r} but model {expected_model!r} was asked for; "
            f"{hint} --model {expected_model}, or drop --model to use the index's own model")
    if embedder_dim is not None and embedder_dim != dim:
        raise IndexMismatchError(f"index at {root}/ holds {dim}-dimensional vectors, the model makes "
                                 f"{embedder_dim}-dimensional ones; {hint}")


def open_index(root: Path, model: str | None = None) -> tuple[StoryIndex, Embedder]:
    """The index at `root` and the model it was built with; `model`, when given, must be that model."""
    manifest = read_manifest(root)
    expected = canonical_model_id(model) if model else None
    check_compatible(root, manifest, expected)  # before loading a model for an index we'd refuse
    embedder = load_embedder(manifest["model"]["id"])
    return StoryIndex.load(root, expected, embedder.dim), embedder

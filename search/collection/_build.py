"""Build the index from corpus files: the one write that replaces every segment with a new base."""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..corpus import FieldMap, corpus_files, prepare, read_in_parts, read_stories
from ..embedding import canonical_model_id, default_model, load_embedder
from ..errors import CorpusError, IndexChangedError, IndexEditedError, IndexMissingError, StorySearchError
from ._about import describe
from ._config import Config
from ._edits import Edits
from ._embed_cache import clear_cache
from ._embed_stream import EmbeddingStream, Encoder, LocalEncoder
from ._engine_address import engine_params
from ._index_build import index_stories
from ._index_files import SAME_MODEL, load_index, model_agreement, open_index, save_locked
from ._legacy import LegacyIndex, legacy_index
from ._manifest import read_manifest
from ._merging import compact, due
from ._postings import Postings
from ._storage import current_generation, writer_lock
from ._story_index import StoryIndex, fingerprint
from ._writes import Writer, cache_dir

if TYPE_CHECKING:
    from ._ray_build import Cluster

log = logging.getLogger(__name__)


def _previous_config(root: Path) -> Config:
    """What the index at `root` was built with, so a rebuild keeps its model and engine; else the defaults."""
    try:
        return Config.from_dict(read_manifest(root)["config"])
    except (StorySearchError, KeyError, TypeError, ValueError):
        older = legacy_index(root)
        return older.config if older is not None else Config()


def _given_address(config: Config | None, params: dict | None) -> str | None:
    """The engine address the caller gave this build (not one read from the index folder)."""
    for given in ((params or {}), (config.index_params if config else {})):
        for where in (given, given.get("approximate_params") or {}):
            if isinstance(where, dict) and "uri" in where:
                return str(where["uri"])
    return None


def build_index(paths: Iterable[str | Path], root: str | Path, model: str | None = None, *,
                config: Config | None = None, fields: FieldMap = FieldMap(), progress: bool = False,
                force: bool = False, discard_edits: bool = False,
                engine: tuple[str | None, dict | None] = (None, None), name: str | None = None,
                description: str | None = None, examples: Sequence[str] | None = None,
                laid_out: bool | None = None, cluster: Cluster | None = None) -> tuple[StoryIndex | None, dict]:
    """(Re)build the index at `root` from corpus files; returns (index or None when up to date, manifest).

    The model is `model`, else `config`'s, else the one the existing index was built with, else the
    default for a corpus of this size (`embedding.default_model`): rebuilding never silently switches models.
    Without `config`, the existing index's (engine and
    its parameters) is kept too; `engine` = (index type, parameters) overrides them: parameters alone are
    merged into the current engine's, a new engine starts from its defaults. Stories that `add` or the
    write API changed since the last build are kept while the corpus is unchanged; if it changed, the build
    stops (`IndexEditedError`) unless `discard_edits` says to drop them. Vectors of unchanged stories are
    reused, so a rebuild after editing a few files embeds only those stories. `name`, `description` and
    `examples` describe the collection to the page (`about.describe` says what they default to); `laid_out`
    False builds no map of the collection (kept by later builds, like the engine). `cluster`: embed on a Ray
    cluster's encoders instead of this process's model (`ray_build`).

    Stories are embedded as they are read (`embed_stream`): merging copies and BM25 run beside the encoder.
    """
    paths, root, given = list(paths), Path(root), config
    previous_config = _previous_config(root)
    model_id = canonical_model_id(model or (config or previous_config).model or previous_config.model
                                  or default_model(sum(f.stat().st_size for f in corpus_files(paths))))
    config = dataclasses.replace(config or previous_config, model=model_id)
    index_type, index_params = engine
    if index_type or index_params is not None:
        same_engine = index_type in (None, config.index_type)
        config = dataclasses.replace(config, index_type=index_type or config.index_type, index_params={
            **(config.index_params if same_engine else {}), **(index_params or {})})
    config = dataclasses.replace(config, **describe(paths, previous_config.to_dict(), name=name,
                                                    description=description, examples=examples))
    if laid_out is not None:
        config = dataclasses.replace(config, map=laid_out)
    config = dataclasses.replace(config, index_params=engine_params(
        root, config.index_type, config.index_params, configured=_given_address(given, index_params)))
    seen = current_generation(root)  # what a commit must still find, whether or not the index there is usable
    previous = _previous_index(root)
    reusable = previous if isinstance(previous, StoryIndex) and previous.model_id == model_id else None
    if reusable is not None and model_agreement(reusable, load_embedder(model_id)) < SAME_MODEL:
        log.info("embedding every story again: the vectors there are not %s's, whatever the manifest says", model_id)
        reusable = None
    resume = cache_dir(root)

    def open_encoder() -> Encoder:
        return cluster.encoder(model_id, root) if cluster else LocalEncoder(load_embedder(model_id))

    with EmbeddingStream(open_encoder, reusable.vectors_by_hash() if reusable else {}, resume, progress) as stream:
        copies = []
        for part in read_in_parts(paths, fields):
            copies += part
            if reusable is None:  # a rebuild knows most vectors: copies merged away would be embedded each time
                stream.offer(part)
        stories = prepare(copies)
        if not stories:
            raise CorpusError(", ".join(map(str, paths)), "holds no stories")
        corpus = fingerprint(stories)
        edits = Edits()
        if previous is not None:
            same_corpus = previous.corpus_fingerprint == corpus
            if previous.edits and not discard_edits:
                if not same_corpus:
                    raise IndexEditedError(
                        f"{root}/ holds stories that add or the API changed since it was built "
                        f"({previous.edits.summary()}), and the corpus has changed since too: a build would have "
                        f"to drop one or the other. Keep the index and add the changed files with `python -m "
                        f"search add FILE ...`, or rebuild from the corpus alone, losing the edits, with `python "
                        f"-m search build --discard-edits`")
                edits, stories = previous.edits, list(previous.stories)  # the same corpus, as the edits left it
            dropping_edits = discard_edits and bool(previous.edits)
            if same_corpus and not (force or dropping_edits) and previous.manifest.get("config") == config.to_dict():
                return None, previous.manifest
            if previous.model_id != model_id:
                log.info("embedding every story again: the index there was built with %s", previous.model_id)
        stream.settle(stories)
        postings = Postings.build([s.text for s in stories])  # while the encoder works
        vectors = stream.vectors(stories)
    index = index_stories(stories, load_embedder(model_id), config, previous=reusable, progress=progress,
                          edits=edits, corpus_fingerprint=corpus, embedded=(vectors, postings))
    with writer_lock(root):
        if current_generation(root) != (previous.generation if isinstance(previous, StoryIndex) else seen):
            raise IndexChangedError(f"another writer changed {root}/ while this build ran; run the build again "
                                    "(nothing it embedded is embedded again)")
        committed = save_locked(index, root)
    clear_cache(resume, model_id)
    return committed, committed.manifest


def _previous_index(root: Path) -> StoryIndex | LegacyIndex | None:
    """The index a build replaces, checksums verified: a damaged one is neither "up to date" nor a source of
    vectors to reuse. An index of the previous format is read for its stories and edits only."""
    try:
        return load_index(root)
    except IndexMissingError:
        log.info("building a new index at %s", root)
    except StorySearchError as exc:
        older = legacy_index(root)
        if older is not None:
            log.info("rebuilding the index of an older format at %s, keeping its stories", root)
            return older
        log.info("building from scratch, the index there can't be reused: %s", exc)
    return None


def add_to_index(paths: Iterable[str | Path], root: str | Path, *, fields: FieldMap = FieldMap(),
                 progress: bool = False) -> StoryIndex:
    """Add or update the stories in `paths` in the existing index, embedding only what is new."""
    return add_files(paths, root, fields=fields, progress=progress)[0]


def add_files(paths: Iterable[str | Path], root: str | Path, *, fields: FieldMap = FieldMap(),
              progress: bool = False) -> tuple[StoryIndex, list[str]]:
    """`add_to_index`, and the id each story of `paths` was filed under (a copy of a story already there is
    filed under that story's id)."""
    new = read_stories(list(paths), fields)
    if not new:
        raise CorpusError(", ".join(map(str, paths)), "holds no stories")
    root = Path(root)
    index, embedder = open_index(root)
    index, ids = Writer(root).add(index, embedder, new, progress=progress, resume=True)
    kind = due(index)
    return (compact(root, index, kind) if kind else index), ids

"""Build and extend the index on disk: the write side that `build` and `add` share."""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..corpus import FieldMap, load_corpus, read_stories
from ..embedding import canonical_model_id, load_embedder
from ..errors import CorpusError, IndexEditedError, IndexMissingError, StorySearchError
from .about import describe
from .config import Config
from .edits import Edits
from .embed_cache import clear_cache
from .storage import read_manifest
from .story_index import StoryIndex, fingerprint, open_index

log = logging.getLogger(__name__)


def _previous_config(root: Path) -> Config:
    """What the index at `root` was built with, so a rebuild keeps its model and engine; else the defaults."""
    try:
        return Config.from_dict(read_manifest(root)["config"])
    except (StorySearchError, KeyError, TypeError):
        return Config()


def build_index(paths: Iterable[str | Path], root: str | Path, model: str | None = None, *,
                config: Config | None = None, fields: FieldMap = FieldMap(), progress: bool = False,
                force: bool = False, discard_edits: bool = False,
                engine: tuple[str | None, dict | None] = (None, None), name: str | None = None,
                description: str | None = None,
                examples: Sequence[str] | None = None) -> tuple[StoryIndex | None, dict]:
    """(Re)build the index at `root` from corpus files; returns (index or None when up to date, manifest).

    The model is `model`, else `config`'s, else the one the existing index was built with, else the
    default: rebuilding never silently switches models. Without `config`, the existing index's (engine and
    its parameters) is kept too; `engine` = (index type, parameters) overrides them: parameters alone are
    merged into the current engine's, a new engine starts from its defaults. Stories that `add` or the
    write API changed since the last build are kept while the corpus is unchanged; if it changed, the build
    stops (`IndexEditedError`) unless `discard_edits` says to drop them. Vectors of unchanged stories are
    reused, so a rebuild after editing a few files embeds only those stories. `name`, `description` and
    `examples` describe the collection to the page (`about.describe` says what they default to).
    """
    paths, root = list(paths), Path(root)
    stories = load_corpus(paths, fields)
    if not stories:
        raise CorpusError(", ".join(map(str, paths)), "holds no stories")
    previous_config = _previous_config(root)
    model_id = canonical_model_id(model or (config or previous_config).model or previous_config.model or None)
    config = dataclasses.replace(config or previous_config, model=model_id)
    index_type, index_params = engine
    if index_type or index_params is not None:
        same_engine = index_type in (None, config.index_type)
        config = dataclasses.replace(config, index_type=index_type or config.index_type, index_params={
            **(config.index_params if same_engine else {}), **(index_params or {})})
    config = dataclasses.replace(config, **describe(paths, previous_config.to_dict(), name=name,  # collection hook
                                                    description=description, examples=examples))
    corpus = fingerprint(stories)
    edits = Edits()
    previous = _previous_index(root)
    if previous is not None:
        same_corpus = previous.corpus_fingerprint == corpus
        if previous.edits and not discard_edits:
            if not same_corpus:
                raise IndexEditedError(
                    f"{root}/ holds stories that add or the API changed since it was built "
                    f"({previous.edits.summary()}), and the corpus has changed since too: a build would have to "
                    f"drop one or the other. Keep the index and add the changed files with `python -m search add "
                    f"FILE ...`, or rebuild from the corpus alone, losing the edits, with `python -m search build "
                    f"--discard-edits`")
            edits, stories = previous.edits, previous.stories  # the same corpus, as the edits left it
        dropping_edits = discard_edits and bool(previous.edits)
        has_map = previous.atlas is not None  # an index from before maps gets one (vectors are reused)
        same_config = previous.manifest.get("config") == config.to_dict()
        if same_corpus and not (force or dropping_edits) and has_map and same_config:
            return None, previous.manifest
        if previous.model_id != model_id:
            log.info("embedding every story again: the index there was built with %s", previous.model_id)
            previous = None
    embedder = load_embedder(model_id)
    index = StoryIndex.build(stories, embedder, config, previous=previous, cache_dir=root / "cache",
                             progress=progress, edits=edits, corpus_fingerprint=corpus)
    manifest = index.save(root)
    clear_cache(root / "cache", model_id)
    return index, manifest


def _previous_index(root: Path) -> StoryIndex | None:
    """The index a build replaces, checksums verified: a damaged one is neither "up to date" nor a source of
    vectors to reuse."""
    try:
        return StoryIndex.load(root)
    except IndexMissingError:
        log.info("building a new index at %s", root)
    except StorySearchError as exc:
        log.info("building from scratch, the index there can't be reused: %s", exc)
    return None


def add_cache_dir(root: Path) -> Path:
    """Resume cache of a long `add`: beside, not inside, a build's, so committing an add never deletes what a
    killed build would resume from."""
    return root / "cache" / "add"


def commit(index: StoryIndex, root: Path, builds_on: StoryIndex) -> None:
    """Save `index`, derived from `builds_on`, as the index at `root` (refused if another writer committed
    since `builds_on` was loaded), then drop the resume cache its vectors came through."""
    index.save(root, builds_on=builds_on.manifest.get("generation"))
    clear_cache(add_cache_dir(root), index.model_id)


def add_to_index(paths: Iterable[str | Path], root: str | Path, *, fields: FieldMap = FieldMap(),
                 progress: bool = False) -> StoryIndex:
    """Add or update the stories in `paths` in the existing index, embedding only what is new."""
    new = read_stories(list(paths), fields)
    if not new:
        raise CorpusError(", ".join(map(str, paths)), "holds no stories")
    root = Path(root)
    index, embedder = open_index(root)
    updated, _ = index.with_stories(new, embedder, cache_dir=add_cache_dir(root), progress=progress)
    commit(updated, root, builds_on=index)
    return updated

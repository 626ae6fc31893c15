"""Build and extend the index on disk: the write side that `build` and `add` share."""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from pathlib import Path

from ._errors import CorpusError, IndexMissingError, StorySearchError
from .config import Config
from .corpus import load_corpus
from .embedding import canonical_model_id, load_embedder
from .index_dir import read_manifest
from .readers import FieldMap, read_stories
from .service import SearchService
from .story_index import StoryIndex, clear_cache, fingerprint

log = logging.getLogger(__name__)


def _previous_config(root: Path) -> Config:
    """What the index at `root` was built with, so a rebuild keeps its model and engine; else the defaults."""
    try:
        return Config.from_dict(read_manifest(root)["config"])
    except (StorySearchError, KeyError, TypeError):
        return Config()


def build_index(paths: Iterable[str | Path], root: str | Path, model: str | None = None, *,
                config: Config | None = None, fields: FieldMap = FieldMap(), progress: bool = False,
                force: bool = False) -> tuple[StoryIndex | None, dict]:
    """(Re)build the index at `root` from corpus files; returns (index or None when up to date, manifest).

    The model is `model`, else `config`'s, else the one the existing index was built with, else the
    default: rebuilding never silently switches models. Without `config`, the existing index's (engine and
    its parameters) is kept too. Vectors of unchanged stories are reused, so a rebuild after editing a
    few files embeds only those stories.
    """
    paths, root = list(paths), Path(root)
    stories = load_corpus(paths, fields)
    if not stories:
        raise CorpusError(", ".join(map(str, paths)), "holds no stories")
    previous_config = _previous_config(root)
    model_id = canonical_model_id(model or (config or previous_config).model or previous_config.model or None)
    config = dataclasses.replace(config or previous_config, model=model_id)
    if not force:
        try:
            manifest = read_manifest(root)
            if (manifest.get("corpus_fingerprint") == fingerprint(stories)
                    and manifest.get("config") == config.to_dict()):
                StoryIndex.load(root)  # up to date only if it also loads (checksums, format version)
                return None, manifest
        except StorySearchError:
            pass
    embedder = load_embedder(model_id)
    previous = None
    try:
        previous = StoryIndex.load(root, expected_model=model_id, verify=False)
    except IndexMissingError:
        log.info("building a new index at %s", root)
    except StorySearchError as exc:
        log.info("building from scratch, the index there can't be reused: %s", exc)
    index = StoryIndex.build(stories, embedder, config, previous=previous, cache_dir=root / "cache", progress=progress)
    manifest = index.save(root)
    clear_cache(root / "cache", model_id)
    return index, manifest


def add_to_index(paths: Iterable[str | Path], root: str | Path, *, fields: FieldMap = FieldMap(),
                 progress: bool = False) -> StoryIndex:
    """Add or update the stories in `paths` in the existing index, embedding only what is new."""
    new = read_stories(list(paths), fields)
    if not new:
        raise CorpusError(", ".join(map(str, paths)), "holds no stories")
    return SearchService.open(Path(root)).add(new, progress=progress)

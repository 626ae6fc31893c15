"""From files to the stories an index holds: read every copy, merge near-duplicates, tag countries."""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from ._dedupe import merge_duplicates
from ._places import tag_countries
from ._readers import FieldMap, read_stories
from ._story import Story

log = logging.getLogger(__name__)


def prepare(copies: Sequence[Story]) -> list[Story]:
    stories = [tag_countries(s) for s in merge_duplicates(copies)]
    if len(stories) < len(copies):
        log.info("read %s stories; merged %s near-identical copies into the stories they repeat: %s stories",
                 f"{len(copies):,}", f"{len(copies) - len(stories):,}", f"{len(stories):,}")
    return stories


def load_corpus(paths: Iterable[str | Path], fields: FieldMap = FieldMap()) -> list[Story]:
    return prepare(read_stories(paths, fields))

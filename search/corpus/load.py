"""From files to the stories an index holds: read every copy, merge near-duplicates, tag countries."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from .dedupe import merge_duplicates
from .places import tag_countries
from .readers import FieldMap, read_stories
from .story import Story


def prepare(copies: Sequence[Story]) -> list[Story]:
    return [tag_countries(s) for s in merge_duplicates(copies)]


def load_corpus(paths: Iterable[str | Path], fields: FieldMap = FieldMap()) -> list[Story]:
    return prepare(read_stories(paths, fields))

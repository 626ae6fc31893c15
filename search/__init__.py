"""story-search: semantic search over news stories.

    from search import SearchService, build_index
    build_index(["seeds"], "index")
    service = SearchService.open("index")
    for hit in service.search("police training against migrant smuggling").hits:
        print(hit.score, hit.story.title)

The subpackages draw the architecture (docs/architecture.md): `corpus` reads stories, `embedding` and
`vectorstore` are the swappable model and vector engine, `collection` is the index on disk, `retrieval`
answers questions, `serving` is the HTTP API and web UI, `evaluation` measures quality.
"""
from . import _environment  # noqa: F401  (first: sets what the libraries below read when they load)

# isort: split
from .collection import Config, StoryIndex, add_to_index, build_index
from .corpus import FieldMap, Story, load_corpus, read_stories
from .errors import (
    ConfigError,
    CorpusError,
    IndexChangedError,
    IndexCorruptError,
    IndexEditedError,
    IndexMismatchError,
    IndexMissingError,
    InvalidQueryError,
    ModelError,
    OverBudgetError,
    StorySearchError,
    UnknownStoryError,
)
from .retrieval import Filters, Hit, SearchResult, SearchService, Snippet

__all__ = ["Config", "ConfigError", "CorpusError", "FieldMap", "Filters", "Hit", "IndexChangedError",
           "IndexCorruptError", "IndexEditedError", "IndexMismatchError", "IndexMissingError", "InvalidQueryError",
           "ModelError", "OverBudgetError", "SearchResult", "SearchService", "Snippet", "Story", "StoryIndex",
           "StorySearchError", "UnknownStoryError", "add_to_index", "build_index", "load_corpus", "read_stories"]

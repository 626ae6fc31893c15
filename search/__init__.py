"""story-search: semantic search over news stories.

    from search import SearchService
    service = SearchService.open("index")
    for hit in service.search("police training against migrant smuggling").hits:
        print(hit.score, hit.story.title)
"""
from ._errors import (CorpusError, IndexCorruptError, IndexEditedError, IndexMismatchError, IndexMissingError,
                      InvalidQueryError, ModelError, StorySearchError, UnknownStoryError)
from .builder import add_to_index, build_index
from .config import Config
from .corpus import load_corpus
from .filters import Filters
from .hits import Hit, SearchResult, Snippet
from .readers import FieldMap, read_stories
from .service import SearchService
from .story import Story
from .story_index import StoryIndex

__all__ = ["Config", "CorpusError", "FieldMap", "Filters", "Hit", "IndexCorruptError", "IndexEditedError",
           "IndexMismatchError", "IndexMissingError", "InvalidQueryError", "ModelError", "SearchResult",
           "SearchService", "Snippet", "Story", "StoryIndex", "StorySearchError", "UnknownStoryError", "add_to_index",
           "build_index", "load_corpus", "read_stories"]

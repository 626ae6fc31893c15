"""Retrieval: questions and stories in, ranked hits out. `SearchService` is the one API that the CLI, the HTTP
API and the web UI hold; ranking, fusion, the answerable decision, diversity and snippets are plain functions.

    from search.retrieval import SearchService
    result = SearchService.open("index").search("police training against migrant smuggling")
"""
from ._browse import in_topic, newest
from ._filters import Filters
from ._relevance import ANSWERABLE, STRONG
from ._results import Hit, SearchResult, Snippet
from ._service import MAX_K, MAX_QUERY_CHARS, MODES, QUESTION_TOKENS, Mode, SearchService

__all__ = ["ANSWERABLE", "MAX_K", "MAX_QUERY_CHARS", "MODES", "QUESTION_TOKENS", "STRONG", "Filters", "Hit", "Mode",
           "SearchResult", "SearchService", "Snippet", "in_topic", "newest"]

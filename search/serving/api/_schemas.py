"""Request and response schemas of the JSON API: validation at the edge, and what /docs documents.

Each limit here is part of the contract: a request over it is refused with 422 before any work is done,
so one client cannot make the model embed a megabyte or a thousand texts in one call.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    model_validator,
)

from ...corpus import clean_text, id_problem
from ...retrieval import ANSWERABLE, MAX_K, MAX_QUERY_CHARS, QUESTION_TOKENS, STRONG, Hit, Mode, SearchResult

MAX_BATCH = 64  # texts per /api/embed or /api/similarity call
MAX_TEXT_CHARS = 20_000  # per text to embed or compare
# Model work one request may ask for, in the model's tokens: a text to embed or compare, all of a request's
# texts together, and the stories of one write (each counted up to what the model reads of it).
MAX_TEXT_TOKENS = 2_048
MAX_REQUEST_TOKENS = 8_192
MAX_WRITE_TOKENS = 32_768
MAX_STORY_TOKENS = 4_096  # what the model reads of a story at most: a story counts up to this much
MAX_STORIES_PER_POST = 100
MAX_STORY_CHARS = 200_000


def _utf8(text: str) -> str:
    """Refuse lone surrogates (JSON "\\ud800" escapes): the model cannot encode them, so they'd be a 500."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("holds invalid Unicode (a lone surrogate); send UTF-8 text") from None
    return text


_ISO_DAY = r"^\d{4}-\d{2}-\d{2}$"
_STORY_ID = r"^[A-Za-z0-9_:-][A-Za-z0-9._:-]*(?:/[A-Za-z0-9_:-][A-Za-z0-9._:-]*)*$"


def _real_date(text: str) -> str:
    """Checked in code, not by a schema pattern, so a bad date is told in words rather than by a regex."""
    if not re.fullmatch(_ISO_DAY, text):
        raise ValueError(f"{text[:40]!r} is not a date written as YYYY-MM-DD, e.g. 2021-11-01")
    try:
        date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a real day") from None
    return text


def _usable_id(story_id: str) -> str:
    if not re.fullmatch(_STORY_ID, story_id):
        raise ValueError("may hold letters, digits and . _ : - only, in parts separated by /, each part starting "
                         "with a letter, a digit, _, : or -")
    problem = id_problem(story_id)
    if problem:
        raise ValueError(problem)
    return story_id


def _not_blank(text: str) -> str:
    if not clean_text(text):  # control characters alone (a NUL) are as empty as spaces
        raise ValueError("is empty")
    return text


Text = Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS), AfterValidator(_utf8), AfterValidator(_not_blank)]
IsoDate = Annotated[str, StringConstraints(max_length=40), AfterValidator(_real_date),
                    Field(json_schema_extra={"format": "date", "pattern": _ISO_DAY})]
# "/" too, as corpus ids like "news/2021/01" have it (the paths take it). Ids are never used as file names,
# yet nothing path-like gets in either: each "/"-separated part starts with a letter, digit, "_", ":" or "-".
StoryId = Annotated[str, StringConstraints(max_length=128), AfterValidator(_usable_id),
                    Field(json_schema_extra={"pattern": _STORY_ID})]


class _Strict(BaseModel):
    """Unknown fields are an error: a misspelt `date_form` must not silently search without its filter."""

    model_config = ConfigDict(extra="forbid")


class SearchQuery(_Strict):
    """The search fields, as query parameters of GET /api/search. The question is `query`, as in the answer;
    `q`, its short form, is taken too."""

    query: Annotated[str, Field(min_length=1, max_length=MAX_QUERY_CHARS, validation_alias=AliasChoices("query", "q"),
                                description="the question, in words (`q` is taken too)",
                                examples=["training for police against migrant smuggling"])]
    k: Annotated[int, Field(ge=1, le=MAX_K, description="number of hits")] = 10
    mode: Annotated[Mode, Field(description="hybrid: meaning and words; dense: meaning; lexical: words")] = "hybrid"
    country: Annotated[list[str], Field(max_length=50, description="only stories about any of these countries")] = []
    date_from: Annotated[IsoDate | None, Field(description="only stories dated on or after, YYYY-MM-DD")] = None
    date_to: Annotated[IsoDate | None, Field(description="only stories dated on or before, YYYY-MM-DD")] = None
    diversify: Annotated[bool, Field(description="reorder by MMR so near-repeats of one topic spread out")] = False

    @model_validator(mode="before")
    @classmethod
    def _one_question(cls, given: Any) -> Any:
        """Both names at once would be two questions: say so, rather than "q: Extra inputs are not permitted"."""
        if isinstance(given, dict) and "q" in given and "query" in given:
            raise ValueError("send the question once, as `query` (or its short form `q`), not both")
        if isinstance(given, dict) and "q" not in given and "query" not in given:
            raise ValueError("the question is missing: send it as `query` (or its short form `q`)")
        return given


class SearchBody(SearchQuery):
    """The same fields as a JSON body; `k` must be a JSON number here (query strings are always text)."""

    k: Annotated[int, Field(strict=True, ge=1, le=MAX_K, description="number of hits")] = 10


class HitOut(BaseModel):
    id: str
    title: str
    score: float = Field(description="relevance from 0 to 1 on the collection's own scale, comparable across "
                                     "questions: 0 is what unrelated questions score in this collection, 1 what a "
                                     "story's own title scores (a search's `answerable` is true iff its top hit "
                                     f"reaches {ANSWERABLE:.2f}); a related story is scored as a hit for the "
                                     "story's title asked as a question")
    match: Literal["strong", "partial", "weak"] | None = Field(
        description=f"the score in words: strong from {STRONG:.2f}, partial from {ANSWERABLE:.2f}, weak below")
    date: str | None
    place: str | None
    countries: list[str]
    snippet: str = Field(description="the passage that matched best")
    highlights: list[list[int]] = Field(description="[start, end) character offsets of matched terms in snippet")
    why: dict[str, float] = Field(description="what `score` is made of: `dense` (the multilingual model's cosine), "
                                              "`english` (the English model's, where it read the question) and "
                                              "`lexical` (BM25) with their ranks, `fused` (the score the list is "
                                              "ordered by), `relevance`, `dense_relevance` and `word_coverage`")

    @classmethod
    def of(cls, hit: Hit) -> HitOut:
        s = hit.story
        return cls(id=s.id, title=s.title, score=round(hit.score, 6), match=hit.match,  # type: ignore[arg-type]
                   date=s.date, place=s.place,
                   countries=list(s.countries), snippet=hit.snippet.text,
                   highlights=[list(h) for h in hit.snippet.highlights],
                   why={k: round(v, 6) for k, v in hit.why.items()})


class SearchOut(BaseModel):
    query: str
    mode: Mode
    answerable: bool = Field(description="false when no story really answers; the hits are then only the nearest")
    truncated: bool = Field(description="true when the question was longer than the model reads "
                                        f"({QUESTION_TOKENS} tokens): "
                                        "`query` is the part that was searched")
    unmentioned: list[str] = Field(description="names the question insists on that no story mentions: why "
                                               "nothing answers it, when that is the reason")
    hits: list[HitOut]
    took_ms: float

    @classmethod
    def of(cls, result: SearchResult) -> SearchOut:
        return cls(query=result.query, mode=result.mode, answerable=result.answerable,  # type: ignore[arg-type]
                   truncated=result.truncated, unmentioned=list(result.unmentioned),
                   hits=[HitOut.of(h) for h in result.hits],
                   took_ms=round(result.took_ms, 2))


class StoryOut(BaseModel):
    id: str
    title: str
    body: str
    date: str | None
    place: str | None
    countries: list[str]
    sources: list[str]
    titles: list[str] = Field(description="every title the story appeared under, this one first")


class StorySummary(BaseModel):
    id: str
    title: str
    date: str | None
    place: str | None


class StoryListOut(BaseModel):
    total: int
    stories: list[StorySummary]


class SimilarOut(BaseModel):
    id: str
    title: str
    hits: list[HitOut]


class SimilarityIn(_Strict):
    """Either `a` and `b` (one score), or `query` and `texts` (one score per text)."""

    a: Text | None = None
    b: Text | None = None
    query: Text | None = None
    texts: Annotated[list[Text], Field(min_length=1, max_length=MAX_BATCH)] | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> SimilarityIn:
        pair, many = (self.a, self.b), (self.query, self.texts)
        if not (all(v is not None for v in pair) and all(v is None for v in many)
                or all(v is not None for v in many) and all(v is None for v in pair)):
            raise ValueError('send either {"a", "b"} or {"query", "texts"}')
        return self

    @property
    def is_pair(self) -> bool:
        return self.a is not None


class PairScore(BaseModel):
    score: float = Field(description="cosine similarity, -1..1")


class Scores(BaseModel):
    scores: list[float] = Field(description="cosine similarity of `query` to each text, in order")


class EmbedIn(_Strict):
    texts: Annotated[list[Text], Field(min_length=1, max_length=MAX_BATCH)]


class EmbedOut(BaseModel):
    model: str
    dim: int
    vectors: list[list[float]] = Field(description="unit-length vectors, one per text, in order")


class StoryIn(_Strict):
    title: Annotated[str, StringConstraints(max_length=1000), AfterValidator(_utf8)] = ""
    body: Annotated[str, StringConstraints(max_length=MAX_STORY_CHARS), AfterValidator(_utf8),
                    AfterValidator(_not_blank)]
    id: StoryId | None = Field(None, description="keep this id (default: derived from the title)")
    date: IsoDate | None = None
    place: Annotated[str, StringConstraints(max_length=200)] | None = None


# Tagged by shape, so a bad body is explained for the shape sent ("stories.3.body: Field required"), not both.
StoriesIn = Annotated[
    Annotated[StoryIn, Tag("story")]
    | Annotated[list[StoryIn], Field(min_length=1, max_length=MAX_STORIES_PER_POST), Tag("stories")],
    Discriminator(lambda body: "stories" if isinstance(body, list) else "story"),
]


class WriteOut(BaseModel):
    ids: list[str] = Field(description="the stories written (or deleted), as the index now knows them")
    story_count: int


class HealthOut(BaseModel):
    status: Literal["ok"]
    stories: int
    model: str
    dim: int
    index_type: str
    built_at: str | None


class ErrorDetail(BaseModel):
    code: str = Field(description="stable, for programs: invalid_request, invalid_query, unknown_story, ...")
    message: str = Field(description="for people: what was wrong and how to fix it")


class ErrorOut(BaseModel):
    error: ErrorDetail

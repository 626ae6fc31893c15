"""The JSON API (`/api/...`), a thin layer over `SearchService`: validate at the edge, call, shape the answer.

Reading endpoints are plain `def`s on purpose: FastAPI runs them in its thread pool, so many clients are
served at once (the service's readers take no lock) while the event loop stays free; writes queue for one
thread of their own (`WriteLane`), so waiting writers never take the pool from readers. Writes need
`Authorization: Bearer $STORY_SEARCH_TOKEN`; with no token configured they are switched off.

A story id may hold "/", so `/stories/{id}` and `/stories/{id}/similar` would both match
`/stories/news/similar`; ids never end in "/similar" (`corpus.story.id_problem`), and the one-story routes
take no path that does, so each path has one meaning and a wrong method is told the right one.
"""
from __future__ import annotations

import csv
import hmac
import io
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AliasChoices, BaseModel
from pydantic.fields import FieldInfo
from starlette.convertors import PathConvertor, register_url_convertor

from ...corpus import Story, make_story
from ...retrieval import MAX_K, Filters, SearchService
from .._metrics import RUNNING, WAITING, note_route
from .._settings import check_token
from ._errors import ApiError, BodyLimit, install_error_handlers
from ._schemas import (
    MAX_REQUEST_TOKENS,
    MAX_STORY_TOKENS,
    MAX_TEXT_TOKENS,
    MAX_WRITE_TOKENS,
    EmbedIn,
    EmbedOut,
    ErrorOut,
    HealthOut,
    HitOut,
    PairScore,
    Scores,
    SearchBody,
    SearchOut,
    SearchQuery,
    SimilarityIn,
    SimilarOut,
    StoriesIn,
    StoryIn,
    StoryListOut,
    StoryOut,
    StorySummary,
    WriteOut,
)

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in ((400, "request body not UTF-8"), (404, "unknown story"), (413, "request body too large"),
                       (422, "invalid request: empty or too long query, k out of range, malformed JSON, ...."))
}
_WORK_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ERRORS, 413: {"model": ErrorOut, "description": "request body too large, or texts holding more tokens than "
                                                       "one request may send (over_budget)"},
}
_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **_WORK_ERRORS, 401: {"model": ErrorOut, "description": "missing or wrong bearer token"},
    403: {"model": ErrorOut, "description": "writes are switched off (no STORY_SEARCH_TOKEN on the server)"},
}
_bearer = HTTPBearer(auto_error=False, description="the server's STORY_SEARCH_TOKEN")
WRITERS = 16  # writes in worker threads at once: they embed side by side and commit in groups
EMBEDDERS = 2  # embedding and similarity requests in worker threads at once
MAX_LIST = 1000  # stories per page of GET /api/stories
StoryIdPath = Annotated[str, Path(description="a story id, as in search hits (a corpus's own ids may hold `/`)")]


class StoryIdConvertor(PathConvertor):
    """A path parameter that takes any path except one ending in "/similar" (the related-stories route's)."""

    regex = r"(?!.*/similar$).*"


register_url_convertor("story_id", StoryIdConvertor())


def create_api(service: SearchService, write_token: str = "") -> FastAPI:
    """The API app: routes under /api, docs at /docs and /openapi.json, every error as JSON.

    `write_token` is the operator's (`Settings.write_token`, read from the environment by the server, the one
    place settings are read); blank switches the write endpoints off, and one that no client could send
    (surrounding whitespace, control characters) is a `ConfigError`.
    """
    token = check_token(write_token)
    app = FastAPI(title="story-search", version="1", summary="Semantic search over IOM news stories.",
                  description="Every error answers `{\"error\": {\"code\", \"message\"}}`. The web UI is at `/`.")
    install_error_handlers(app)
    app.add_middleware(BodyLimit)
    app.include_router(_router(service, WriterCheck(token)))
    return app


class WriterCheck:
    """The write endpoints' dependency: a constant-time comparison with the configured token, as UTF-8 bytes.

    Starlette hands header values over decoded as Latin-1, so encoding them back as Latin-1 gives the bytes
    the client sent: a token with non-ASCII characters matches when sent as UTF-8, as clients send it.
    """

    def __init__(self, token: str) -> None:
        self.token = token.encode("utf-8")

    def __call__(self, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
        if not self.token:
            raise ApiError(403, "writes_disabled", "writes are switched off: the server has no STORY_SEARCH_TOKEN")
        given = credentials.credentials.encode("latin-1") if credentials else b""
        if not hmac.compare_digest(given, self.token):
            raise ApiError(401, "unauthorized", "send `Authorization: Bearer <token>` with the server's token",
                           {"WWW-Authenticate": "Bearer"})


T = TypeVar("T")


class Lane:
    """Model work runs in at most `capacity` worker threads; the requests beyond wait as coroutines on the
    event loop, and one whose client has hung up by its turn is dropped instead of run.

    A write embeds its stories, then commits under the index folder's lock; an embedding request keeps the
    model busy for as long as its texts take. A few of each in flight keep the model and the disk busy; every
    waiting request beyond that would hold one thread of the pool that searches share, and a burst as large
    as the pool would leave none to answer a search, however cheap.
    """

    def __init__(self, capacity: int, name: str) -> None:
        self.capacity, self.name = capacity, name  # the name labels the lane's metrics
        self._limiter: anyio.CapacityLimiter | None = None  # made in the event loop, on the first request

    async def run(self, request: Request, fn: Callable[..., T], *args: Any) -> T:
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.capacity)
        waiting, running = WAITING.labels(self.name), RUNNING.labels(self.name)
        with waiting.track_inprogress():
            await self._limiter.acquire()
        try:
            if await request.is_disconnected():
                raise ApiError(499, "client_closed", "the client hung up before its turn; nothing was done")
            with running.track_inprogress():
                return await anyio.to_thread.run_sync(fn, *args)
        finally:
            self._limiter.release()


async def refuse_unknown_query(request: Request) -> None:
    """Every route refuses query parameters it does not take, as bodies refuse unknown fields: a misspelt
    `limt=5` is told so instead of being answered as if it were not there."""
    route = request.scope.get("route")
    if route is None or not route.include_in_schema:  # the catch-all answers 404 or 405 whatever the query
        return
    unknown = sorted(set(request.query_params) - _query_names(route.dependant))
    if unknown:
        raise ApiError(422, "invalid_request", f"unknown query parameter {', '.join(map(repr, unknown))[:200]}; "
                                               "the parameters of each endpoint are documented at /docs")


def _query_names(dependant: Dependant) -> frozenset[str]:
    """The query parameters a route's endpoint and its dependencies take (a model's fields, for a query model)."""
    names: set[str] = set()
    for field in dependant.query_params:
        model = field.field_info.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            names |= {n for name, info in model.model_fields.items() for n in _field_names(name, info)}
        else:
            names.add(field.alias)
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return frozenset(names)


def _field_names(name: str, info: FieldInfo) -> set[str]:
    """The names a model field is read under: its own, its alias, each of its validation aliases."""
    choices = info.validation_alias.choices if isinstance(info.validation_alias, AliasChoices) \
        else [info.validation_alias]
    return {info.alias or name, *(c for c in choices if isinstance(c, str))}


def _router(service: SearchService, require_writer: WriterCheck) -> APIRouter:
    api = APIRouter(prefix="/api", responses=_ERRORS,
                    dependencies=[Depends(note_route), Depends(refuse_unknown_query)])
    writes, vectors = Lane(WRITERS, "writes"), Lane(EMBEDDERS, "embeddings")

    @api.get("/health", tags=["status"])
    def health() -> HealthOut:
        """Liveness and what is being served: story count, model, index type."""
        index = service.index
        return HealthOut(status="ok", stories=len(index), model=index.model_id, dim=index.dim,
                         index_type=index.store.kind, built_at=index.manifest.get("built_at"))

    def run_search(params: SearchQuery) -> SearchOut:
        filters = Filters(tuple(params.country), params.date_from, params.date_to)
        return SearchOut.of(service.search(params.query, params.k, params.mode, filters, diversify=params.diversify))

    @api.get("/search", tags=["search"])
    def search_get(params: Annotated[SearchQuery, Query()]) -> SearchOut:
        """Stories that answer the question, best first. `country` may be repeated."""
        return run_search(params)

    @api.get("/search.csv", tags=["search"], response_class=Response,
             responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                              "description": "one row a hit, best first, after a header row"}})
    def search_csv(params: Annotated[SearchQuery, Query()]) -> Response:
        """The same search as a CSV file (rank, id, title, score, match, date, place, countries, snippet): what
        the page's "Download" link saves."""
        return Response(hits_csv(run_search(params)), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="search.csv"'})

    @api.post("/search", tags=["search"])
    def search_post(body: SearchBody) -> SearchOut:
        """The same search with the fields as a JSON body."""
        return run_search(body)

    @api.get("/stories", tags=["stories"])
    def stories(offset: Annotated[int, Query(ge=0)] = 0,
                limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 100) -> StoryListOut:
        """Every story's id and title, a page at a time, in index order."""
        everything = service.index.stories
        page = everything[offset:offset + limit]
        return StoryListOut(total=len(everything), stories=[StorySummary(id=s.id, title=s.title, date=s.date,
                                                                          place=s.place) for s in page])

    @api.get("/stories/{story_id:path}/similar", tags=["stories"])
    def similar(story_id: StoryIdPath, k: Annotated[int, Query(ge=1, le=MAX_K)] = 5) -> SimilarOut:
        """Related stories: the nearest others by meaning (never the story itself)."""
        me = service.story(story_id)
        return SimilarOut(id=me.id, title=me.title, hits=[HitOut.of(h) for h in service.related(story_id, k)])

    @api.get("/stories/{story_id:story_id}", tags=["stories"])
    def story(story_id: StoryIdPath) -> StoryOut:
        """One story in full."""
        return StoryOut.model_validate(service.story(story_id).to_dict())

    @api.post("/similarity", tags=["vectors"], response_model=PairScore | Scores, responses=_WORK_ERRORS)
    async def similarity(body: SimilarityIn, request: Request) -> PairScore | Scores:
        """`{"a", "b"}` gives one score; `{"query", "texts"}` gives one score per text."""
        texts = [body.a, body.b] if body.is_pair else [body.query, *(body.texts or [])]
        service.check_work(texts, MAX_TEXT_TOKENS, MAX_REQUEST_TOKENS)  # type: ignore[arg-type]
        scores = await vectors.run(request, service.similarities, texts[0], texts[1:])
        return PairScore(score=scores[0]) if body.is_pair else Scores(scores=scores)

    @api.post("/embed", tags=["vectors"], responses=_WORK_ERRORS)
    async def embed(body: EmbedIn, request: Request) -> EmbedOut:
        """Vectors of the index's model for your texts (as passages), e.g. for your own comparisons."""
        service.check_work(body.texts, MAX_TEXT_TOKENS, MAX_REQUEST_TOKENS)
        found = await vectors.run(request, service.embed, body.texts)
        return EmbedOut(model=service.text_model.model_id, dim=int(found.shape[1]), vectors=found.tolist())

    @api.post("/stories", tags=["writes"], responses=_WRITE_ERRORS, dependencies=[Depends(require_writer)])
    async def add_stories(body: StoriesIn, request: Request) -> WriteOut:
        """Add stories, or update those with the same id (or a near-duplicate text); one story or a list."""
        given = body if isinstance(body, list) else [body]
        stories, own_ids = [_to_story(s) for s in given], {s.id for s in given if s.id}
        service.check_work([s.text for s in stories], None, MAX_WRITE_TOKENS, cap=MAX_STORY_TOKENS)
        ids = await writes.run(request, lambda: service.add(stories, own_ids=own_ids))
        return WriteOut(ids=ids, story_count=len(service.index))

    @api.delete("/stories/{story_id:story_id}", tags=["writes"], responses=_WRITE_ERRORS,
                dependencies=[Depends(require_writer)])
    async def delete_story(story_id: StoryIdPath, request: Request) -> WriteOut:
        """Remove a story from the index."""
        ids = await writes.run(request, service.delete, [story_id])
        return WriteOut(ids=ids, story_count=len(service.index))

    every_method = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    @api.api_route("", methods=every_method, include_in_schema=False)
    @api.api_route("/{path:path}", methods=every_method, include_in_schema=False)
    def unknown(request: Request) -> None:
        """Unknown /api paths answer in the API's error format (not the web UI's), with 405 for a wrong method."""
        path = request.url.path
        methods = {m for route in api.routes if route.endpoint is not unknown  # type: ignore[attr-defined]
                   and route.path_regex.match(path) for m in route.methods}  # type: ignore[attr-defined]
        allowed = sorted(methods | {"HEAD"} if "GET" in methods else methods)  # HEAD: the request policy's
        if allowed:
            raise ApiError(405, "method_not_allowed", f"use {' or '.join(allowed)} here", {"Allow": ", ".join(allowed)})
        raise ApiError(404, "not_found", "no such endpoint; the API is documented at /docs")

    return api


def hits_csv(result: SearchOut) -> str:
    """A search's hits as CSV text, one row a hit, with a header row."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["rank", "id", "title", "score", "match", "date", "place", "countries", "snippet"])
    for rank, h in enumerate(result.hits, 1):
        writer.writerow([rank, h.id, h.title, f"{h.score:.4f}", h.match or "", h.date or "", h.place or "",
                         "; ".join(h.countries), h.snippet])
    return out.getvalue()


def _to_story(s: StoryIn) -> Story:
    return make_story(s.title, s.body, id=s.id, date=s.date, place=s.place, source="api")

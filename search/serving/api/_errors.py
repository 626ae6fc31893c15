"""Every HTTP error as `{"error": {"code", "message"}}`, and the request-body size cap of the whole app.

Handlers cover FastAPI's validation errors, HTTP errors (404, 405, ...), the service's own
`StorySearchError`s and, last, anything unexpected: that one is logged with its traceback and answered
with a plain 500, so no stack trace or internal detail ever reaches a client.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ... import _bounded_json
from ...errors import (
    CorpusError,
    IndexChangedError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    InvalidQueryError,
    ModelError,
    OverBudgetError,
    StorySearchError,
    UnknownStoryError,
)

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000
_STATUS_OF_ERROR: Sequence[tuple[type[StorySearchError], int]] = (
    (InvalidQueryError, 422), (CorpusError, 422), (UnknownStoryError, 404), (IndexChangedError, 409),
    (IndexMissingError, 503), (IndexCorruptError, 503), (IndexMismatchError, 503), (ModelError, 503),
    (OverBudgetError, 413),
)
_CODE_OF_STATUS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                   405: "method_not_allowed", 413: "body_too_large", 422: "invalid_request", 429: "too_many_requests",
                   500: "internal_error", 503: "unavailable"}
# Framework errors carry terse reasons ("Not Found"); these say what to do instead.
_MESSAGE_OF_STATUS = {404: "no such endpoint; the API is documented at /docs",
                      400: "the request body could not be decoded; send JSON encoded as UTF-8",
                      500: "the server failed to answer this request; it has been logged"}


class ApiError(HTTPException):
    """An HTTP error raised by our own endpoints, with its stable code."""

    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status, message, dict(headers) if headers else None)
        self.code = code


def error_response(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _where(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in (loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc)]
    return ".".join(parts) or ("request body" if loc and loc[0] == "body" else "request")


def describe_validation(errors: Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    """(code, message) for pydantic's error list: the first few problems, each with where it is."""
    for e in errors:
        if e.get("type") == "json_invalid":
            reason = e.get("ctx", {}).get("error", "parse error")
            return "invalid_json", f"the request body is not valid JSON ({reason})"
    shown = [f"{_where(e.get('loc', ()))}: {_in_words(e)}" for e in errors[:3]]
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return "invalid_request", "; ".join(shown) + more


# pydantic's wording where it would show a schema's internals (a regex) or name no remedy.
_WORDS_OF_TYPE = {"extra_forbidden": "is not a field of this request (the fields are listed at /docs)",
                  "string_pattern_mismatch": "is not in the form this field takes (see /docs)"}


def _in_words(error: Mapping[str, Any]) -> str:
    return _WORDS_OF_TYPE.get(str(error.get("type")), str(error.get("msg", "invalid")).removeprefix("Value error, "))


async def _on_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
    return error_response(422, *describe_validation(exc.errors()))


def http_error(status: int, detail: object) -> tuple[str, str]:
    """(code, message) for an error raised by the framework or Gradio with a status and maybe a reason.

    Server errors never pass their reason on (it may hold internals); client errors keep a short one.
    """
    code = _CODE_OF_STATUS.get(status, "server_error" if status >= 500 else "http_error")
    if status >= 500:
        return code, _MESSAGE_OF_STATUS.get(status, _MESSAGE_OF_STATUS[500])
    shown = detail if isinstance(detail, str) and len(detail) < 300 else None
    return code, _MESSAGE_OF_STATUS.get(status) or shown or f"the request was refused ({code})"


async def _on_http(_: Request, exc: HTTPException) -> JSONResponse:
    if isinstance(exc, ApiError):
        return error_response(exc.status_code, exc.code, exc.detail, exc.headers)
    return error_response(exc.status_code, *http_error(exc.status_code, exc.detail), exc.headers)


async def _on_story_search(_: Request, exc: StorySearchError) -> JSONResponse:
    status = next((s for cls, s in _STATUS_OF_ERROR if isinstance(exc, cls)), 400)
    return error_response(status, exc.code, str(exc))


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "the server failed to answer this request; it has been logged")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _on_http)  # type: ignore[arg-type]
    app.add_exception_handler(StorySearchError, _on_story_search)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _on_unexpected)


async def read_body(receive: Receive) -> bytes:
    """A request's whole body (a layer outside has capped its size)."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body"):
            return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """`receive` for an app after a layer read the body: the body once, then what the client does next."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class BodyLimit:
    """Refuse request bodies over `limit` bytes with a JSON 413, and JSON bodies nested deeper than any request
    needs (`_bounded_json`) with a 422, before any endpoint (or the mounted web UI) reads them.

    The body is read here (at most `limit` plus one chunk) and replayed to the app, so a client that sends
    no Content-Length, or lies in it, is capped all the same. (FastAPI's own `max_body_size` answers an
    over-long declared Content-Length in plain text, which would break the one error format.) A Content-Length
    that is not a number is a malformed request, not a big one: a 400, so the client fixes the header rather
    than shrinking its body.
    """

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit():
            response = error_response(400, "invalid_content_length",
                                      "the Content-Length header must be the body's size in bytes, a whole number")
            await response(scope, receive, send)
            return
        if int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        if _bounded_json.too_deep(body) is not None:  # every body this server takes is JSON
            response = error_response(422, "invalid_json", f"the request body is not valid JSON (nested deeper "
                                                            f"than {_bounded_json.MAX_DEPTH} levels)")
            await response(scope, receive, send)
            return
        await self.app(scope, replaying(body, receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(413, "body_too_large", f"the request body is over {self.limit:,} bytes; "
                                                          "send fewer or shorter texts per request")
        await response(scope, receive, send)

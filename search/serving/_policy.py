"""The request policy of the whole app (API, web UI, docs), as ASGI layers around it: which methods and
writes are taken, HEAD for every GET, and one error shape for every refusal a client can reach.

With the host allowlist (`HostGuard`) and the gate of Gradio's routes (`GradioGate`) installed here as well,
`install_request_policy` says what gets past the edge; the body size cap (`BodyLimit`) is the root app's own,
from `create_api`, so it covers every path too. The layers sit outside the CORS middleware and the mounted
Gradio app, so their answers are covered.
"""
from __future__ import annotations

import json
import re

from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._gradio_gate import GradioGate
from ._hosts import HostGuard
from ._settings import Settings
from .api import error_response, http_error

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# The only writes the web UI needs: joining Gradio's queue, cancelling, the named calls that `gradio_client`
# users make, and the map's server function (component_server runs only functions a component registered).
# Everything else Gradio offers (uploads, recordings, streams, its editor) the page never uses, and an upload
# would be stored on disk for anyone who asked.
UI_WRITES = re.compile(r"/gradio_api/(?:queue/join|cancel|component_server|(?:call|run|api)/[A-Za-z0-9_-]+)/?")
_SHAPED_LIMIT = 65_536  # bytes of a foreign error body read to re-shape it; error bodies are small


def install_request_policy(app: FastAPI, settings: Settings) -> FastAPI:
    """Wrap `app` (already holding its CORS middleware and body cap) in the policy; the last layer added runs
    first. The Gradio gate goes innermost, inside the body cap, so the bodies it reads are bounded."""
    app.user_middleware.append(Middleware(GradioGate, root=app))
    app.add_middleware(OneErrorShape)
    app.add_middleware(MethodGate)
    app.add_middleware(HeadAsGet)
    app.add_middleware(HostGuard, settings=settings)
    return app


class MethodGate:
    """Methods HTTP does not define answer 501; outside /api/, only the UI's own writes are taken."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            method, path = scope["method"], scope["path"]
            refusal = None
            if method not in METHODS:
                refusal = error_response(501, "method_not_implemented", "this server answers GET, HEAD, POST, "
                                         "DELETE and OPTIONS only; the API is documented at /docs")
            elif method not in ("GET", "HEAD", "OPTIONS") and not path.startswith("/api/") \
                    and not UI_WRITES.fullmatch(path):
                refusal = error_response(403, "forbidden", "the web UI takes no uploads or other writes here; "
                                         "the JSON API is documented at /docs")
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


class HeadAsGet:
    """HEAD on every GET route: routed as GET, answered with the GET's status and headers and no body.

    FastAPI routes take HEAD only where declared, and Gradio's only on its page. The answer ends with the
    first body message, so a HEAD on an event stream does not stay open.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        finished = False

        async def headers_only(message: Message) -> None:
            nonlocal finished
            if finished:
                return
            if message["type"] == "http.response.body":
                finished = True
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


class OneErrorShape:
    """Errors that other layers answer on their own (Gradio's `{"detail": ...}`, the CORS middleware's plain
    text) re-shaped as `{"error": {"code", "message"}}`, keeping their status and headers, so a client
    parses one format whatever part of the app it reached.

    HTML answers are pages for people (the "starting" page while the UI loads) and are left as they are.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body = bytearray()

        async def shaped(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and message["status"] >= 400:
                start = message
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            if len(body) < _SHAPED_LIMIT:
                body.extend(message.get("body", b""))
            if not message.get("more_body"):
                await _send_shaped(scope, start, bytes(body), send)

        await self.app(scope, receive, shaped)


async def _send_shaped(scope: Scope, start: Message, body: bytes, send: Send) -> None:
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() not in (b"content-length", b"content-type")]
    content_type = dict(start.get("headers", [])).get(b"content-type", b"")
    detail = _json(body) if content_type.startswith(b"application/json") else None
    if isinstance(detail, dict) and set(detail) == {"error"} or content_type.startswith(b"text/html"):
        await send(start)
        await send({"type": "http.response.body", "body": body})
        return
    status = start["status"]
    if status == 400 and scope["method"] == "OPTIONS" and \
            any(k == b"access-control-request-method" for k, _ in scope["headers"]):
        code, message = "cors_refused", ("this origin may not call the server from a browser: CORS is closed "
                                         "unless the operator lists the origin in STORY_SEARCH_CORS_ORIGINS")
    else:
        code, message = http_error(status, detail.get("detail") if isinstance(detail, dict) else None)
    response = error_response(status, code, message)
    response.raw_headers.extend(headers)
    await send({"type": "http.response.start", "status": status, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError:
        return None

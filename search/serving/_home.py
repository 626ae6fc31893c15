"""What a worker process passes to the home process, and how (see `workers`).

Writes go to the home process, which commits them in groups and out of the readers' way, and so do the parts
of Gradio that keep per-session state (its queue: a `gradio_client` caller joins with one request and reads
the result as an event stream on another connection, and both must reach the process that holds the queue).
A worker passes such a request on over the home's private Unix socket and streams the answer back as it comes
(`ToHome`); the home names the commit a write made (`CommitMark`), and the worker serves that commit before
it answers, so the writer's next request on that connection sees its story.
"""
from __future__ import annotations

import logging
import re

import anyio
import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import StorySearchError
from ..retrieval import SearchService
from .api import BodyLimit, error_response

log = logging.getLogger(__name__)
# httpx logs every request it sends, with its whole URL, at INFO: a passed-on request would put the question
# or token the access log hides (`access_log`) into the server's log.
logging.getLogger("httpx").setLevel(logging.WARNING)

# Gradio's stateful routes: the queue (join, then the event stream), cancelling, the `call` API's two
# halves, the session heartbeat and media streams. Everything else Gradio serves is answered anywhere.
_GRADIO_STATE = re.compile(r"/gradio_api/(?:queue/|cancel|call/|heartbeat/|stream/)")
_HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"transfer-encoding", b"te", b"trailer", b"upgrade",
                         b"proxy-authorization", b"proxy-authenticate"})
GENERATION = b"x-story-search-generation"  # home -> worker only: the commit a write's answer comes from
_SERVERS_OWN = frozenset({b"date", b"server", GENERATION})  # each uvicorn adds its own; the mark stays inside
CATCH_UP_S = 5.0  # at most this long a worker spends picking up a write's commit before answering


def goes_home(method: str, path: str) -> bool:
    """Whether a request must be answered by the home process: it changes the collection (any method but a
    read on /api/stories), or it touches Gradio's per-session state."""
    if path == "/api/stories" or path.startswith("/api/stories/"):
        return method not in ("GET", "HEAD", "OPTIONS")
    return _GRADIO_STATE.match(path) is not None


class ToHome:
    """In a worker: requests that `goes_home` are sent to the home process over its Unix socket and its
    answer streamed back as it comes (an event stream stays open as long as the home keeps it open, and is
    closed there when the client hangs up here). Bodies are capped here as the API caps them
    (`BodyLimit`), so an oversized upload is refused before it is passed on."""

    def __init__(self, app: ASGIApp, address: str, service: SearchService) -> None:
        self.app, self.address, self.service = app, address, service
        self._client: httpx.AsyncClient | None = None
        self._capped = BodyLimit(self._forward)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and goes_home(scope["method"], scope["path"]):
            await self._capped(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:  # made in the event loop that uses it
            # Idle connections are dropped well before the home's server closes them (uvicorn: after 5 s), so
            # a request is never sent on a connection the home is closing at that moment.
            transport = httpx.AsyncHTTPTransport(uds=self.address, limits=httpx.Limits(keepalive_expiry=1.0))
            self._client = httpx.AsyncClient(transport=transport, base_url="http://home",
                                             timeout=httpx.Timeout(None, connect=30))
            for name in list(self._client.headers):  # pass the client's headers as sent, add none of httpx's
                del self._client.headers[name]
        return self._client

    async def _forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = bytearray()
        while True:  # BodyLimit has read and capped the body: this replays it
            message = await receive()
            body.extend(message.get("body", b""))
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        target = scope["raw_path"].decode("latin-1") + (f"?{scope['query_string'].decode('latin-1')}"
                                                        if scope["query_string"] else "")
        headers = [(k, v) for k, v in scope["headers"] if k not in _HOP_BY_HOP and k != b"content-length"]
        http = self._http()
        try:
            answer = await http.send(http.build_request(scope["method"], target, headers=headers,
                                                        content=bytes(body)), stream=True)
        except httpx.HTTPError as exc:
            log.warning("home process unreachable for %s %s: %r", scope["method"], scope["path"], exc)
            refusal = error_response(503, "writer_unavailable", "the process that takes writes is restarting; "
                                     "try again in a moment", {"Retry-After": "1"})
            await refusal(scope, receive, send)
            return
        try:
            generation = answer.headers.get(GENERATION.decode())
            if generation is not None and generation.isdigit():
                with anyio.move_on_after(CATCH_UP_S):
                    await anyio.to_thread.run_sync(self._catch_up, int(generation))
            await send({"type": "http.response.start", "status": answer.status_code,
                        "headers": [(k, v) for k, v in answer.headers.raw
                                    if k.lower() not in _HOP_BY_HOP and k.lower() not in _SERVERS_OWN]})
            await _stream(answer, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await answer.aclose()

    def _catch_up(self, generation: int) -> None:
        try:
            self.service.catch_up(generation)
        except (OSError, StorySearchError) as exc:  # the watch loop retries; the write itself is committed
            log.warning("could not pick up commit %d: %s", generation, exc)


async def _stream(answer: httpx.Response, receive: Receive, send: Send) -> None:
    """The answer's body to the client as it arrives, until it ends or the client hangs up."""
    async with anyio.create_task_group() as tasks:
        async def until_hung_up() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            tasks.cancel_scope.cancel()

        tasks.start_soon(until_hung_up)
        try:
            async for chunk in answer.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except httpx.HTTPError as exc:  # the home died mid-answer: end what was sent
            log.warning("home process stopped answering: %r", exc)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        tasks.cancel_scope.cancel()


class CommitMark:
    """In the home process: a successful write's answer names the commit it made (`GENERATION`), for the
    worker that passed it on (`ToHome`), which strips it."""

    def __init__(self, app: ASGIApp, service: SearchService) -> None:
        self.app, self.service = app, service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not goes_home(scope["method"], scope["path"]) \
                or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 300:
                generation = str(self.service.index.generation or 0).encode()
                message = {**message, "headers": [*message.get("headers", []), (GENERATION, generation)]}
            await send(message)

        await self.app(scope, receive, marked)

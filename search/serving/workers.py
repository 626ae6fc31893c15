"""`serve --workers N` (N > 1): N processes answer, one more writes, the index is in memory once.

One Python process answers on one core at a time: most of a request's work (HTTP, routing, validation,
ranking, snippets) holds the interpreter lock. So the server runs as processes:

- the **supervisor** (the process `serve` started) opens the index and loads the model once, binds the
  listening socket, then forks the others, restarts one that dies and stops them all on SIGINT/SIGTERM.
  Forked after loading, the others share the model's memory with it (copy-on-write: nothing writes the
  weights or the tokenizer's tables), and the index's large arrays are memory-mapped files, shared
  through the page cache;
- **workers** (N) accept connections on the shared socket and answer everything that reads: the API, the
  page, its assets and the page's own events, sent as direct requests (no queue), so any worker can
  answer any of them;
- the **home** process holds what must live in one place: writes (one `Writer`, so adds from every
  worker commit together in groups, and none waits for the interpreter behind searches), the background
  merges, and Gradio's queue, whose two halves (joining with one request, reading the result as an event
  stream on another connection) must reach the process that holds it: `gradio_client` callers use it.
  It listens only on a private Unix socket (Linux's abstract namespace: no file anywhere); workers pass
  it those requests and stream its answers back (`ToHome`), each through the same request policy on both
  sides.

A worker answering a write waits until it serves the commit (`CommitMark` tells it which), so the writer's
next request on that connection sees its story; the other workers pick the commit up within their watch
interval, as any server picks up another writer's commit. With `--workers 1` none of this runs: `serve`
is one process, as it always was.
"""
from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import os
import re
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

import anyio
import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import StorySearchError
from ..retrieval import SearchService
from .api.errors import BodyLimit, error_response
from .settings import Settings

log = logging.getLogger(__name__)

HOME = "home"
# Gradio's stateful routes: the queue (join, then the event stream), cancelling, the `call` API's two
# halves, the session heartbeat and media streams. Everything else Gradio serves is answered anywhere.
_GRADIO_STATE = re.compile(r"/gradio_api/(?:queue/|cancel|call/|heartbeat/|stream/)")
_HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"transfer-encoding", b"te", b"trailer", b"upgrade",
                         b"proxy-authorization", b"proxy-authenticate"})
GENERATION = b"x-story-search-generation"  # home -> worker only: the commit a write's answer comes from
_SERVERS_OWN = frozenset({b"date", b"server", GENERATION})  # each uvicorn adds its own; the mark stays inside
CATCH_UP_S = 5.0  # at most this long a worker spends picking up a write's commit before answering
STOP_S = 10.0  # a process that has not stopped this long after SIGTERM is killed
RESTART_PAUSE_S = 1.0  # between restarts of a process that died while starting


def goes_home(method: str, path: str) -> bool:
    """Whether a request must be answered by the home process: it changes the collection (any method but a
    read on /api/stories), or it touches Gradio's per-session state."""
    if path == "/api/stories" or path.startswith("/api/stories/"):
        return method not in ("GET", "HEAD", "OPTIONS")
    return _GRADIO_STATE.match(path) is not None


def default_workers() -> int:
    """The cores this process may use (its CPU affinity, which containers and `taskset` narrow)."""
    return len(os.sched_getaffinity(0))


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


# --- the processes ---------------------------------------------------------------------------------------------
RunServer = Callable[[ASGIApp, socket.socket, Callable[[], None]], None]  # app, socket, called once it answers


ANSWERING, PAGE = "answering", "page"  # what a child tells the supervisor: it accepts connections; its page is up


@dataclass
class _Child:
    role: str
    process: BaseProcess | None = None
    news: Connection | None = None  # what the process tells the supervisor (ANSWERING, then PAGE)
    started_at: float = 0.0
    up: bool = False
    page: bool = False


class Supervisor:
    """Starts the home process and the workers from a loaded `service`, keeps them running, stops them."""

    def __init__(self, service: SearchService, settings: Settings, listener: socket.socket, workers: int,
                 build_app: Callable[..., ASGIApp], run_server: RunServer) -> None:
        self.service, self.settings, self.listener = service, settings, listener
        self.build_app, self.run_server = build_app, run_server
        self.address = f"\0story-search-{os.getpid()}-{secrets.token_hex(8)}"
        self.home_listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.home_listener.bind(self.address)
        self.home_listener.listen(1024)  # workers' requests wait here while the home (re)starts
        self.children = [_Child(HOME), *(_Child(f"worker-{i}") for i in range(1, workers + 1))]
        self._context = multiprocessing.get_context("fork")
        self._stop_r, self._stop_w = os.pipe()
        self._stopping = False
        self._on_pages: Callable[[], None] | None = None

    def run(self, on_ready: Callable[[], None], on_pages: Callable[[], None] | None = None) -> None:
        """Start every process, call `on_ready` once all of them answer (and `on_pages` once all of their pages
        are up), and keep them running until SIGINT or SIGTERM; a process that dies is started again."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        self._on_pages = on_pages
        try:
            gc.freeze()  # what was loaded stays shared with the children: the collector won't touch it
            for child in self.children:
                self._start(child)
            while not self._stopping and not all(c.up for c in self.children):
                self._wait_once(starting=True)
            on_ready()
            while not self._stopping:
                self._wait_once(starting=False)
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.home_listener.close()
            os.close(self._stop_r)
            os.close(self._stop_w)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):
            os.write(self._stop_w, b"x")

    def _start(self, child: _Child) -> None:
        news, tell = self._context.Pipe(duplex=False)
        child.process = self._context.Process(target=self._child_main, args=(child.role, tell),
                                              name=f"story-search {child.role}", daemon=False)
        child.process.start()
        tell.close()
        child.news, child.started_at, child.up, child.page = news, time.monotonic(), False, False

    def _wait_once(self, starting: bool) -> None:
        waiting: dict[Any, tuple[_Child, bool]] = {}
        for child in self.children:
            assert child.process is not None
            waiting[child.process.sentinel] = (child, True)
            if child.news is not None:
                waiting[child.news] = (child, False)
        for handle in wait([*waiting, self._stop_r]):
            if handle == self._stop_r:
                return
            child, exited = waiting[handle]
            if not exited:
                self._hear(child)
            elif not self._stopping:
                self._restart(child, starting)

    def _hear(self, child: _Child) -> None:
        assert child.news is not None and child.process is not None
        try:
            news = child.news.recv()
        except (EOFError, OSError):  # it stopped talking (it is exiting, or told all it had to)
            child.news.close()
            child.news = None
            return
        if news == ANSWERING:
            child.up = True
            log.info("%s process %d answering", child.role, child.process.pid)
        elif news == PAGE:
            child.page = True
            if self._on_pages is not None and all(c.page for c in self.children):
                self._on_pages()
                self._on_pages = None

    def _restart(self, child: _Child, starting: bool) -> None:
        assert child.process is not None
        code = child.process.exitcode
        child.process.join()
        if starting and not child.up:
            raise StorySearchError(f"the {child.role} process stopped while starting (exit code {code}); "
                                   "see the log above")
        if not child.up and time.monotonic() - child.started_at < RESTART_PAUSE_S:
            time.sleep(RESTART_PAUSE_S)  # it died while starting again: don't spin
        log.warning("%s process %d stopped (exit code %s); starting it again", child.role, child.process.pid, code)
        self._start(child)

    def _stop_all(self) -> None:
        running = [c.process for c in self.children if c.process is not None and c.process.is_alive()]
        for process in running:
            process.terminate()
        deadline = time.monotonic() + STOP_S
        for process in running:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()

    def _child_main(self, role: str, tell: Connection) -> None:
        """A forked process: the home or a worker, serving until told to stop or its supervisor is gone."""
        _die_with(os.getppid())
        _name_process(f"story-{role}")
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)  # uvicorn installs its own once it runs
        os.close(self._stop_r)
        os.close(self._stop_w)

        def say(news: str) -> None:
            with contextlib.suppress(OSError):
                tell.send(news)

        def page_loaded(ok: bool) -> None:
            if ok:
                say(PAGE)

        options: dict[str, Any] = {"settings": self.settings, "ui_in_background": True, "page_loaded": page_loaded}
        app: ASGIApp
        if role == HOME:
            self.listener.close()  # the home never answers the public socket
            self.service.background_merges = True
            app = CommitMark(self.build_app(self.service, **options), self.service)
            sock = self.home_listener
        else:
            self.home_listener.close()
            app = self.build_app(self.service, direct_events=True, **options,
                                 layers=[(ToHome, {"address": self.address, "service": self.service})])
            sock = self.listener
        self.service.watch()
        self.run_server(app, sock, lambda: say(ANSWERING))


def _name_process(name: str) -> None:
    """The name `ps` and /proc/PID/comm show (Linux; at most 15 bytes), so an operator can tell the processes
    apart."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None).prctl(15, name.encode()[:15])  # PR_SET_NAME


def _die_with(parent: int) -> None:
    """Stop when the supervisor does, even if it is killed (SIGKILL leaves no chance to stop its children):
    Linux sends SIGTERM then; elsewhere a thread watches for it."""
    try:
        import ctypes

        if ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM) == 0:  # PR_SET_PDEATHSIG
            if os.getppid() != parent:  # it died before the call
                os._exit(0)
            return
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="supervisor-watch", daemon=True).start()

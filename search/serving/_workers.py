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
  it those requests and stream its answers back (`home`), each through the same request policy on both
  sides.

A worker answering a write serves its commit first, so the writer's next request on that connection sees its
story; the other workers pick the commit up within their watch interval, as any server picks up another
writer's commit. With `--workers 1` none of this runs: `serve` is one process, as it always was.
"""
from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import os
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

from starlette.types import ASGIApp

from ..errors import StorySearchError
from ..retrieval import SearchService
from ._home import CommitMark, ToHome
from ._metrics import forget_process
from ._settings import Settings

log = logging.getLogger(__name__)

HOME = "home"
STOP_S = 10.0  # a process that has not stopped this long after SIGTERM is killed
REFRESH_S = 30.0  # the supervisor's own copy of the index keeps up at least this often (see `_refresh`)
RESTART_PAUSE_S = 1.0  # between restarts of a process that died while starting

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
        ready = wait([*waiting, self._stop_r], timeout=REFRESH_S)
        if not ready:
            self._refresh()
        for handle in ready:
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

    def _refresh(self) -> None:
        """Keep the supervisor's copy of the index up with the folder: a process started again is forked from it,
        and the segments a merge replaced are let go of (their files' space is freed once no process maps them)."""
        try:
            self.service.reload()
        except (OSError, StorySearchError) as exc:
            log.warning("the supervisor could not pick up the index's latest commit: %s", exc)

    def _restart(self, child: _Child, starting: bool) -> None:
        assert child.process is not None
        code = child.process.exitcode
        child.process.join()
        if child.process.pid is not None:
            forget_process(child.process.pid)
        if starting and not child.up:
            raise StorySearchError(f"the {child.role} process stopped while starting (exit code {code}); "
                                   "see the log above")
        if not child.up and time.monotonic() - child.started_at < RESTART_PAUSE_S:
            time.sleep(RESTART_PAUSE_S)  # it died while starting again: don't spin
        log.warning("%s process %d stopped (exit code %s); starting it again", child.role, child.process.pid, code)
        self._refresh()
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

"""A server started from a program, for tests, benchmarks and notebooks (`serve_in_background`): in a thread of
this process over a loaded service, or as `serve --workers N` in a process of its own, waited on until it
answers and stopped when the block ends.
"""
from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..retrieval import SearchService
from ._server import create_app, load_service, loopback_socket, serve_with_workers, uvicorn_settings
from ._settings import Settings, worker_count


@contextlib.contextmanager
def serve_in_background(service: SearchService | Path, *, wait_for_ui: bool = True, timeout: float = 120.0,
                        workers: int = 1, port: int = 0) -> Iterator[str]:
    """Serve the app `serve` runs (UI mounted after start-up) on 127.0.0.1 (on `port`, else a free one), for
    the duration of the block; yields the base URL once the API answers and, with `wait_for_ui`, the page too.

    With one worker the server runs in a thread of this process, over `service` (an index folder is opened);
    with more, `serve --workers N` runs in a process of its own over the folder (the service's), with this
    process's environment as its settings, and is stopped with SIGTERM as a person would. For tests,
    benchmarks and notebooks. The listening socket is bound here and handed over, so no other process can
    take the port between choosing and binding it.
    """
    sock = loopback_socket(port)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    if workers == 1:
        running, up, stop = _thread_server(service if isinstance(service, SearchService) else load_service(service),
                                           sock, url, wait_for_ui)
    else:
        running, up, stop = _process_server(service if isinstance(service, Path) else service.index_dir, sock,
                                            worker_count(workers), url, wait_for_ui)
    deadline = time.monotonic() + timeout
    try:
        while not up():
            if not running():
                raise RuntimeError(f"the server at {url} stopped before it answered (its error is in the log above)")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server at {url} did not start within {timeout:.0f} s")
            time.sleep(0.05)
        yield url
    finally:
        stop()
        sock.close()


Check = Callable[[], bool]


def _answers(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=10).status_code == 200
    except httpx.TransportError:
        return False


def _thread_server(service: SearchService, sock: socket.socket, url: str,
                   wait_for_ui: bool) -> tuple[Check, Check, Callable[[], None]]:
    """uvicorn in a thread: (whether it runs, whether it answers, stop)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(create_app(service, ui_in_background=True),
                                           **uvicorn_settings(log_level="warning", lifespan="on")))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=30)

    return thread.is_alive, lambda: server.started and (not wait_for_ui or _answers(url + "/")), stop


def _process_server(index_dir: Path | None, sock: socket.socket, workers: int, url: str,
                    wait_for_ui: bool) -> tuple[Check, Check, Callable[[], None]]:
    """`serve --workers N` in a fresh process: (whether it runs, whether it answers, stop). It answers once every
    process does, and its page is up once every process's is, which the supervisor says over a pipe: one answer
    comes from one worker only, and a worker killed while the supervisor still waits for it to start stops
    the server (as a worker that cannot start should)."""
    import multiprocessing

    if index_dir is None:
        raise ValueError("a server with several workers serves an index folder; this service has none")
    sock.listen(2048)
    context = multiprocessing.get_context("spawn")
    news, tell = context.Pipe(duplex=False)
    process = context.Process(target=_serve_socket, args=(index_dir, sock, workers, tell), name="story-search serve")
    process.start()
    tell.close()

    heard: set[str] = set()

    def up() -> bool:
        while news.poll():
            heard.add(news.recv())
        return ANSWERING in heard and (not wait_for_ui or PAGES in heard) and _answers(url + "/api/health")

    def stop() -> None:
        process.terminate()
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
            process.join()
        news.close()

    return process.is_alive, up, stop


ANSWERING, PAGES = "answering", "pages"  # what the server process tells `serve_in_background`


def _serve_socket(index_dir: Path, sock: socket.socket, workers: int, news: Any) -> None:
    """`serve --workers N` on a socket bound elsewhere (`serve_in_background`), in a fresh process; says on
    `news` once every process answers, and once every process serves the page."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    port = sock.getsockname()[1]
    serve_with_workers(index_dir, sock, workers, Settings.from_env(listen_host="127.0.0.1"),
                       f"http://127.0.0.1:{port}/", log_level="warning", on_ready=lambda: news.send(ANSWERING),
                       on_pages=lambda: news.send(PAGES))

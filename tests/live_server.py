"""The real server (uvicorn, the API and the Gradio UI) in a background thread on a free loopback port.

It is the app `serve` runs, whose UI is mounted in the background after start-up: the block begins once
the page itself answers.

The listening socket is bound here and handed to uvicorn, so there is no window in which another process
could take the port between choosing and binding it.
"""
from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import uvicorn

from search.retrieval.service import SearchService
from search.serving.server import create_app


@contextlib.contextmanager
def running_server(service: SearchService, start_timeout: float = 60.0, wait_for_ui: bool = True) -> Iterator[str]:
    """Serve `create_app(service, ui_in_background=True)` until the block ends; yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(service, ui_in_background=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    url = f"http://127.0.0.1:{port}"
    while not (server.started and (not wait_for_ui or httpx.get(url + "/").status_code == 200)):
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

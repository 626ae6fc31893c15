"""One server: the JSON API under /api (docs at /docs) and the web UI at /, over one `SearchService`.

The service is loaded once and warmed with a throw-away query before the port opens, so the first person
does not wait for the model; the API answers from then on, while the UI's Gradio loads in the background.
Concurrency comes from request threads (FastAPI's thread pool for the API, Gradio's queue for the UI) and,
with `--workers N`, from N processes (`workers`: how they share the socket, the index and the writes), so
FAISS is held to one thread per search instead of each search fanning out over every core and the
searches fighting each other for them (`use_serving_threads`). Every request passes the request policy
(`policy`: allowed hosts, body size, methods, one error shape) before it reaches the API or the page.

How uvicorn runs the app is said once (`uvicorn_settings`), for every way of serving.
"""
from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from ..collection import default_index_dir
from ..errors import ConfigError
from ..retrieval import SearchService
from ..vectorstore import use_serving_threads
from ._connections import uvicorn_options
from ._docs import serve_docs_offline
from ._metrics import count_across_processes, install_metrics, observe
from ._policy import install_request_policy
from ._settings import Settings, listen_address, worker_count
from ._workers import Supervisor
from .api import create_api

log = logging.getLogger(__name__)

WARM_UP_QUESTION = "migrants"
PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">{head}<title>Story search</title></head>
<body style="font-family:system-ui,sans-serif;margin:3rem auto;max-width:36rem"><h1>Story search</h1>
<p role="status">{message} The <a href="/docs">JSON API</a> is answering.</p></body></html>"""
STARTING_PAGE = PAGE.format(head='<meta http-equiv="refresh" content="1">',
                            message="Starting: this page reloads by itself in a moment.")
FAILED_PAGE = PAGE.format(head="", message="The web page failed to start (see the server log).")


def create_app(service: SearchService, *, ui_in_background: bool = False, settings: Settings | None = None,
               direct_events: bool = False, layers: Sequence[tuple[Any, dict[str, Any]]] = (),
               page_loaded: Callable[[bool], object] | None = None) -> FastAPI:
    """The API first (its routes, including the /api catch-all, win), then the UI at /, inside the request
    policy; `settings` default to the environment's (`Settings.from_env`).

    With `ui_in_background` the API answers as soon as the port opens while Gradio (seconds of imports,
    most of a cold start) loads in a worker thread; `/` shows a self-reloading
    "starting" page until the UI is mounted. `serve` does this; tests that need the page at once don't.
    `direct_events`: the page's events are sent as one request each instead of through Gradio's queue, so
    any of several processes can answer them (`workers`). `layers` are ASGI middleware (class, options)
    placed inside the request policy, around everything else (a worker's passing of writes to the home).
    `page_loaded` is told whether the page came up, once it has (or failed to), when it loads in the background.
    """
    settings = settings or Settings.from_env()
    app = _with_closed_cors(serve_docs_offline(create_api(service, settings.write_token)), settings.cors_origins)
    install_metrics(app, service)
    if ui_in_background:
        _mount_ui_when_loaded(app, service, settings.cors_origins, direct_events, page_loaded or (lambda ok: None))
    else:
        from .ui import mount_ui

        mount_ui(app, service, path="/", queued=not direct_events)
    for layer, options in layers:
        app.add_middleware(layer, **options)
    return observe(install_request_policy(app, settings), settings.json_access_log)


def _with_closed_cors(app: FastAPI, origins: tuple[str, ...]) -> FastAPI:
    """CORS is closed unless $STORY_SEARCH_CORS_ORIGINS lists origins (comma-separated).

    Configuring it matters for the UI too: on an app without a CORS middleware, Gradio installs its own,
    which allows any origin (with credentials) whenever the server is reached by a name other than localhost.
    """
    app.add_middleware(CORSMiddleware, allow_origins=list(origins), allow_methods=["GET", "POST"],
                       allow_headers=["Content-Type"])
    return app


def _mount_ui_when_loaded(app: FastAPI, service: SearchService, cors_origins: tuple[str, ...],
                          direct_events: bool, loaded: Callable[[bool], object]) -> None:
    """Serve the starting page at / and, once the app runs, build the UI in a thread and swap it in.

    The UI gets its own small app (with the same CORS policy) so Gradio's own lifespan, which starts its
    queue, can be entered here after start-up; it is mounted behind the API routes, as in `create_app`.
    """
    failed = False

    async def placeholder(_request: object) -> HTMLResponse:
        if failed:
            return HTMLResponse(FAILED_PAGE, status_code=503)
        return HTMLResponse(STARTING_PAGE, status_code=503, headers={"Retry-After": "1"})

    starting = Route("/", placeholder, methods=["GET"])
    app.router.routes.append(starting)
    outer_lifespan = app.router.lifespan_context

    def build_ui() -> FastAPI:
        from .ui import mount_ui

        return mount_ui(_with_closed_cors(FastAPI(openapi_url=None, docs_url=None, redoc_url=None), cors_origins),
                        service, queued=not direct_events)

    @contextlib.asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[None]:
        async with outer_lifespan(app_), contextlib.AsyncExitStack() as stack:
            async def mount() -> None:
                nonlocal failed
                try:
                    ui_app = await asyncio.to_thread(build_ui)
                    await stack.enter_async_context(ui_app.router.lifespan_context(ui_app))
                except Exception:
                    log.exception("the web UI failed to start; the JSON API keeps serving")
                    failed = True
                    loaded(False)
                    return
                app.mount("/", ui_app)
                app.router.routes.remove(starting)
                log.info("web UI ready")
                loaded(True)

            task = asyncio.create_task(mount())
            yield
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.router.lifespan_context = lifespan


def open_service(index_dir: Path | str | None = None) -> SearchService:
    """Open the index and run one throw-away search, so the model and caches are hot before anyone asks."""
    use_serving_threads()
    service = SearchService.open(Path(index_dir) if index_dir else default_index_dir())
    service.search(WARM_UP_QUESTION, 1)
    return service


def load_service(index_dir: Path | str | None = None) -> SearchService:
    """A hot service (`open_service`) that keeps up with the folder: commits of other writers (the command
    line) are served within a second, merges run in the background."""
    service = open_service(index_dir)
    service.background_merges = True
    service.watch()
    return service


def uvicorn_settings(settings: Settings | None = None, log_level: str = "info", **extra: Any) -> dict[str, Any]:
    """What `uvicorn.Config` (or `uvicorn.run`) is given, whichever way the app is served: the connection
    limits (`connections`), and uvicorn's access log at "info" unless JSON access logs were asked for."""
    return {**uvicorn_options(settings.connections if settings else None), "log_level": log_level,
            "access_log": log_level == "info" and not (settings and settings.json_access_log), **extra}


def serve(index_dir: Path | str | None = None, host: str | None = None, port: int | None = None,
          workers: int | None = None) -> None:
    """Run the server until interrupted. Host and port fall back to $STORY_SEARCH_HOST/$STORY_SEARCH_PORT,
    then 127.0.0.1:7860: only this machine can connect unless a wider address is asked for. `workers`
    processes answer (`worker_count`); one is the server as a single process. The settings are checked
    before the index loads, so a bad one fails at once."""
    import uvicorn

    host, port = listen_address(host, port)
    workers = worker_count(workers)
    settings = Settings.from_env(listen_host=host)
    if workers > 1:
        serve_with_workers(index_dir, _bound(host, port), workers, settings, f"http://{host}:{port}/")
        return
    check_port_free(host, port)
    service = load_service(index_dir)
    log.info("serving %d stories on http://%s:%d/ (API docs at /docs)", len(service.index), host, port)
    uvicorn.run(create_app(service, ui_in_background=True, settings=settings), host=host, port=port,
                **uvicorn_settings(settings))


def serve_with_workers(index_dir: Path | str | None, listener: socket.socket, workers: int, settings: Settings,
                       url: str, log_level: str = "info", on_ready: Callable[[], None] | None = None,
                       on_pages: Callable[[], None] | None = None) -> None:
    """Serve on `listener` with `workers` worker processes and the home process (`workers.Supervisor`) until
    SIGINT or SIGTERM; `on_ready` is called once every process answers, `on_pages` once every process serves
    the page."""
    service = open_service(index_dir)
    assert service.index_dir is not None, "opened from a folder"
    counts = count_across_processes(service.index_dir)
    supervisor = Supervisor(service, settings, listener, workers, create_app,
                            functools.partial(run_uvicorn, settings=settings, log_level=log_level))
    def ready() -> None:
        log.info("serving %d stories on %s with %d worker processes (API docs at /docs)", len(service.index), url,
                 workers)
        if on_ready is not None:
            on_ready()

    try:
        supervisor.run(ready, on_pages)
    finally:
        listener.close()
        if counts is not None:
            counts.close()


def run_uvicorn(app: ASGIApp, sock: socket.socket, started: Callable[[], None], settings: Settings | None = None,
                log_level: str = "info") -> None:
    """Serve `app` on an already bound socket until SIGINT or SIGTERM; `started` is called once it accepts
    connections. Open connections get a few seconds to finish when it stops (an event stream would hold
    it open for as long as its client stays)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, **uvicorn_settings(settings, log_level, lifespan="on",
                                                                   timeout_graceful_shutdown=5)))

    def tell() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.02)
        if server.started:
            started()

    threading.Thread(target=tell, name="started", daemon=True).start()
    server.run(sockets=[sock])


def _bound(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so a port in use fails before anything loads."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # see loopback_socket
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(port_taken(host, port)) from None
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def check_port_free(host: str, port: int) -> None:
    """A `ConfigError` naming the fix when another program listens on the port, said before the index and
    model load (seconds), not as uvicorn's "[Errno 98]" after "serving ... on" was already printed."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no obstacle
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise ConfigError(port_taken(host, port)) from None


def port_taken(host: str, port: int) -> str:
    return (f"port {port} on {host} is taken by another program (another story-search?): stop it, or serve on "
            f"another port with `--port {port + 1}` (`make run PORT={port + 1}`, or STORY_SEARCH_PORT={port + 1})")


def loopback_socket(port: int = 0) -> socket.socket:
    """A socket bound to `port` on 127.0.0.1 (0: a free one), for uvicorn to listen on."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Connections accepted from a socket handed to uvicorn keep Nagle's algorithm on, so a response's body
    # waits for the client's delayed ACK of its headers; accepted sockets inherit this option.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", port))
    return sock

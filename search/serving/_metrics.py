"""What an operator watches: Prometheus metrics at /metrics, and one JSON line per request as an option.

Metrics come from prometheus_client, the reference client: requests by route and status, their latency, error
responses, the model work waiting and running (embeddings and writes queue in lanes), and the index served
(stories, generation). Routes are labelled by their template ("/api/stories/{story_id}"), never by the raw
path, so a scan of made-up URLs cannot grow the series without bound; everything outside /api is "ui".

Several worker processes: prometheus_client's multiprocess mode. Each process writes its counters and
histograms to small files in one folder and /metrics, whichever worker answers it, adds up every process's;
the queue gauges add up the live processes' values. `serve --workers N` switches it on itself
(`count_across_processes`) in a folder of the index's cache, unless the operator chose one with
PROMETHEUS_MULTIPROC_DIR. The index's own figures are read at scrape time from the answering worker's
service: every worker serves the same folder.

`STORY_SEARCH_ACCESS_LOG=json` replaces uvicorn's access log with one JSON object a request on the
`search.access` logger: time, method, route, path, status, milliseconds, client address.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .._files import process_alive
from ..retrieval import SearchService

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
COUNTS = "metrics"  # the folder of one server's counts, in the index's cache: metrics-<its process number>
PATH = "/metrics"
log = logging.getLogger(__name__)
access_log = logging.getLogger("search.access")

# Not in prometheus_client's global registry: each scrape assembles its own (`exposition`), so tests and
# notebooks can build several apps in one process, and multiprocess mode can take the counters from files.
REQUESTS = Counter("story_search_requests", "HTTP requests answered, by method, route and status",
                   ["method", "route", "status"], registry=None)
LATENCY = Histogram("story_search_request_seconds", "Time to answer an HTTP request, by method and route",
                    ["method", "route"], registry=None,
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
ERRORS = Counter("story_search_errors", "Error responses: client (4xx) and server (5xx), by route",
                 ["route", "kind"], registry=None)
WAITING = Gauge("story_search_model_work_waiting", "Requests waiting for a turn to run on the model, by lane",
                ["lane"], registry=None, multiprocess_mode="livesum")
RUNNING = Gauge("story_search_model_work_running", "Requests running on the model, by lane",
                ["lane"], registry=None, multiprocess_mode="livesum")
_OWN = (REQUESTS, LATENCY, ERRORS, WAITING, RUNNING)


class IndexFigures:
    """The served index's figures, read when scraped (not kept in step by every write)."""

    def __init__(self, service: SearchService) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        index = self.service.index
        yield GaugeMetricFamily("story_search_stories", "Stories the index serves", value=len(index))
        yield GaugeMetricFamily("story_search_index_generation", "The committed generation of the index served "
                                "(grows with every build, write and merge)", value=index.generation or 0)
        yield GaugeMetricFamily("story_search_index_segments", "Segments the index is made of (merges fold them)",
                                value=len(index.segments))


def exposition(service: SearchService) -> bytes:
    """The metrics in Prometheus's text format: this process's, or with workers every process's."""
    registry = CollectorRegistry(auto_describe=True)
    if os.environ.get(MULTIPROCESS_ENV):
        MultiProcessCollector(registry)
    else:
        for metric in _OWN:
            registry.register(metric)
    registry.register(IndexFigures(service))
    return generate_latest(registry)


class SharedCounts:
    """The folder where every process of one server writes its counts, made for that server and removed
    with it. prometheus_client reads its variable when imported, before `serve` knows it will fork workers,
    so its value class is switched here too; every series is labelled, and a labelled series takes the
    value class when first counted, which happens in the workers, after this."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        for left in folder.parent.glob(f"{COUNTS}-*"):  # of servers killed before they could remove theirs
            number = left.name.removeprefix(f"{COUNTS}-")
            if number.isdigit() and not process_alive(int(number)):
                shutil.rmtree(left, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)  # a dead server's, whose process number came round again
        folder.mkdir(parents=True)
        os.environ[MULTIPROCESS_ENV] = str(folder)
        values.ValueClass = values.MultiProcessValue()

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def forget_process(pid: int) -> None:
    """Drop a dead worker's share of the live gauges (its counters stay: what it answered was answered)."""
    if os.environ.get(MULTIPROCESS_ENV):
        mark_process_dead(pid)


def count_across_processes(index_dir: Path) -> SharedCounts | None:
    """Switch on the multiprocess mode before workers fork, in `index_dir`'s cache (the project writes
    nowhere else), or in the operator's own folder if PROMETHEUS_MULTIPROC_DIR is set (None then: the
    folder is theirs to empty). An index folder that can't be written leaves each process counting its own
    requests, which the log says."""
    if os.environ.get(MULTIPROCESS_ENV):
        return None
    try:
        return SharedCounts(index_dir / "cache" / f"{COUNTS}-{os.getpid()}")
    except OSError as exc:
        log.warning(
            "/metrics will count only the requests of the worker that answers it: no folder for the workers' "
            "counts in the index folder (%s); set %s to an empty folder to count them all", exc, MULTIPROCESS_ENV)
        return None


ROUTE_NOTE = "story_search.route"


def note_route(request: Request) -> None:
    """A dependency of the API's routes: tells `Observed` which route template answered (its label)."""
    note, route = request.scope.get(ROUTE_NOTE), request.scope.get("route")
    if note is not None and route is not None:
        note["route"] = route.path


def install_metrics(app: FastAPI, service: SearchService) -> None:
    """Add GET /metrics to `app` (before the web UI is mounted at /, so the route wins). Call `observe` on
    the finished app to measure every request."""

    @app.get(PATH, include_in_schema=False, dependencies=[Depends(note_route)])
    def metrics() -> Response:
        return Response(exposition(service), media_type=CONTENT_TYPE_LATEST)


class Observed:
    """ASGI layer around the whole app: counts and times each request, and writes its JSON access line."""

    def __init__(self, app: ASGIApp, json_lines: bool = False) -> None:
        self.app, self.json_lines = app, json_lines

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status, note = time.perf_counter(), 500, dict[str, str]()
        scope = {**scope, ROUTE_NOTE: note}  # layers inside copy the scope, but share this dict

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self._record(scope, note.get("route", "ui"), status, time.perf_counter() - started)

    def _record(self, scope: Scope, route: str, status: int, seconds: float) -> None:
        method = scope.get("method", "")
        REQUESTS.labels(method, route, str(status)).inc()
        LATENCY.labels(method, route).observe(seconds)
        if status >= 400:
            ERRORS.labels(route, "server" if status >= 500 else "client").inc()
        if self.json_lines:
            client = scope.get("client")
            line: dict[str, Any] = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "method": method, "route": route,
                                    "path": scope.get("path", ""), "status": status, "ms": round(seconds * 1000, 2),
                                    "client": client[0] if client else None}
            access_log.info(json.dumps(line))


def observe(app: FastAPI, json_lines: bool) -> FastAPI:
    """Measure every request `app` answers (added last, so it sees refusals of the request policy too), and
    with `json_lines` write its JSON access line."""
    app.add_middleware(Observed, json_lines=json_lines)
    return app

"""One server: the JSON API under /api (docs at /docs) and the web UI at /, over one `SearchService`.

The service is loaded once and warmed with a throw-away query before the port opens, so the first person
does not wait for the model. Concurrency comes from request workers (FastAPI's thread pool for the API,
Gradio's queue for the UI), so FAISS is held to one thread per search instead of each search fanning out
over every core and the searches fighting each other for them (`use_serving_threads`).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from .api import create_api
from .index_dir import default_index_dir
from .service import SearchService
from .ui import mount_ui
from .vectorstore.threads import use_serving_threads

log = logging.getLogger(__name__)

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 7860
WARM_UP_QUESTION = "migrants"


def create_app(service: SearchService) -> FastAPI:
    """The API first (its routes, including the /api catch-all, win), then the UI mounted at /.

    CORS is closed unless $STORY_SEARCH_CORS_ORIGINS lists origins (comma-separated). Configuring it here
    also matters for the UI: without a CORS middleware on this app, Gradio installs its own, which allows
    any origin (with credentials) whenever the server is reached by a name other than localhost.
    """
    app = mount_ui(create_api(service), service, path="/")
    origins = [o.strip() for o in os.environ.get("STORY_SEARCH_CORS_ORIGINS", "").split(",") if o.strip()]
    app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST"],
                       allow_headers=["Content-Type"])
    return app


def load_service(index_dir: Path | str | None = None) -> SearchService:
    """Open the index and run one throw-away search so the model and caches are hot."""
    use_serving_threads()
    service = SearchService.open(Path(index_dir) if index_dir else default_index_dir())
    service.search(WARM_UP_QUESTION, 1)
    return service


def serve(index_dir: Path | str | None = None, host: str | None = None, port: int | None = None) -> None:
    """Run the server until interrupted. Host and port fall back to $STORY_SEARCH_HOST/$STORY_SEARCH_PORT,
    then 127.0.0.1:7860: only this machine can connect unless a wider address is asked for."""
    import uvicorn

    host = host or os.environ.get("STORY_SEARCH_HOST") or DEFAULT_HOST
    port = port or int(os.environ.get("STORY_SEARCH_PORT") or DEFAULT_PORT)
    service = load_service(index_dir)
    log.info("serving %d stories on http://%s:%d/ (API docs at /docs)", len(service.index), host, port)
    uvicorn.run(create_app(service), host=host, port=port, log_level="info")

"""The API's docs pages served from files installed with the package, never from a CDN.

FastAPI's own /docs and /redoc pages load Swagger UI and ReDoc from jsDelivr, so offline they are blank.
fastapi-offline bundles both (kept current with Swagger UI's releases, made for exactly this); its files are
served here under /docs/files and FastAPI's page functions are pointed at them.
"""
from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

FILES = "/docs/files"


def serve_docs_offline(app: FastAPI) -> FastAPI:
    """Replace `app`'s CDN-loading docs pages (its docs_url and redoc_url) with pages using bundled files."""
    docs, redoc, openapi = app.docs_url, app.redoc_url, app.openapi_url
    if not openapi:
        return app
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) not in {docs, redoc}]
    app.mount(FILES, StaticFiles(directory=str(files("fastapi_offline") / "static")), name="docs-files")
    favicon = f"{FILES}/favicon.png"
    if docs:
        @app.get(docs, include_in_schema=False)
        def swagger_ui() -> HTMLResponse:  # FastAPI's oauth2-redirect page stays: it loads nothing
            return get_swagger_ui_html(openapi_url=openapi, title=f"{app.title} - API docs",
                                       oauth2_redirect_url=app.swagger_ui_oauth2_redirect_url,
                                       swagger_js_url=f"{FILES}/swagger-ui-bundle.js",
                                       swagger_css_url=f"{FILES}/swagger-ui.css", swagger_favicon_url=favicon,
                                       swagger_ui_parameters=app.swagger_ui_parameters)
    if redoc:
        @app.get(redoc, include_in_schema=False)
        def redoc_page() -> HTMLResponse:
            return get_redoc_html(openapi_url=openapi, title=f"{app.title} - ReDoc",
                                  redoc_js_url=f"{FILES}/redoc.standalone.js", redoc_favicon_url=favicon,
                                  with_google_fonts=False)
    return app

"""Serving: one server holding one `SearchService`, the JSON API under /api and the Gradio web UI at /.

    from search.serving import serve
    serve("index")                           # http://127.0.0.1:7860/
"""
from ._background import serve_in_background
from ._server import create_app, load_service, serve
from .api._schemas import HitOut, SearchOut

__all__ = ["HitOut", "SearchOut", "create_app", "load_service", "serve", "serve_in_background"]

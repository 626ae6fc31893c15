"""Serving: one server holding one `SearchService`, the JSON API under /api and the Gradio web UI at /.

    from search.serving import serve
    serve("index")                           # http://127.0.0.1:7860/
"""
from ._background import serve_in_background
from ._server import load_service, serve
from .api import HitOut, SearchOut

__all__ = ["HitOut", "SearchOut", "load_service", "serve", "serve_in_background"]

"""The web UI: a Gradio page over `SearchService` (imports Gradio: load it only when the page is wanted)."""
from ._page import mount_ui

__all__ = ["mount_ui"]

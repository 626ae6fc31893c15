"""The web UI: a Gradio page over `SearchService` (imports Gradio: load it only when the page is wanted)."""
from ._page import create_ui, mount_ui

__all__ = ["create_ui", "mount_ui"]

"""The web UI: a Gradio Blocks page over `SearchService`, mounted at / beside the JSON API.

A thin layer: it turns form values into a service call and hits into HTML (`ui_render`), and turns every
error into a message on the page. Its events carry explicit `api_name`s (`search`, `related`), so
`gradio_client` users can call the same things the page does.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import gradio as gr
from fastapi import FastAPI

from ...errors import StorySearchError
from ...retrieval import MAX_K, MAX_QUERY_CHARS, Filters, SearchService
from . import render
from .style import CSS, theme

log = logging.getLogger(__name__)

RELATED_K = 5
UI_CONCURRENCY = 16  # UI events run at once (searches are short and CPU-bound; the thread pool holds 40)
MODE_CHOICES = [("Meaning and words", "hybrid"), ("Meaning only", "dense"), ("Exact words", "lexical")]
SCORE_HINT = {"hybrid": "meaning and word matches combined; higher is better",
              "dense": "similarity of meaning, 0 to 1", "lexical": "BM25 word-match score"}
# Delegated from the component's root, so it keeps working however often the cards are re-rendered.
CARD_CLICKS = """
element.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-story]');
  if (button) trigger('click', {story_id: button.dataset.story});
});
"""
READY_JS = "() => { document.documentElement.dataset.ready = 'true'; }"
SearchOutput = tuple[str, str]
T = TypeVar("T")


def example_questions(service: SearchService, n: int = 4) -> list[str]:
    """Questions drawn from the corpus itself: the crispest (shortest) title about each of a few places."""
    seen: set[str] = set()
    picked = []
    for story in sorted(service.index.stories, key=lambda s: (len(s.title), s.id)):
        where = story.countries[0] if story.countries else ""
        if story.title and where and where not in seen:
            seen.add(where)
            picked.append(story.title)
        if len(picked) == n:
            break
    return picked


def _safely(on_error: Callable[[str], T]) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Errors become a message on the page (never a traceback); unexpected ones are logged first."""

    def decorate(fn: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(fn)
        def wrapper(*args: Any) -> T:
            try:
                return fn(*args)
            except StorySearchError as exc:
                return on_error(render.status("error", str(exc)))
            except Exception:
                log.exception("web UI request failed")
                return on_error(render.status("error", "Something went wrong on the server; please try again."))

        return wrapper

    return decorate


def create_ui(service: SearchService) -> gr.Blocks:
    """The page. Call `mount_ui` to serve it (Gradio 6 takes theme and CSS at mount time)."""

    @_safely(lambda message: (message, ""))
    def search(question: str, countries: list[str] | None, date_from: str | None, date_to: str | None,
               k: float, mode: str, diversify: bool = False) -> SearchOutput:
        """Search the stories; returns (status HTML, result cards HTML)."""
        if not (question or "").strip():
            return render.status("info", "Type a question above and press Enter."), ""
        filters = Filters(tuple(countries or ()), _day(date_from), _day(date_to))
        result = service.search(question, int(k), mode or "hybrid", filters, diversify=bool(diversify))
        if not result.hits:
            note = "No stories match these filters; widen the dates or clear the country." if filters.active \
                else "No stories found."
            return render.status("info", note), ""
        return (render.count_line(len(result.hits), result.took_ms, result.answerable),
                render.cards(result.hits, SCORE_HINT.get(result.mode, "")))

    @_safely(lambda message: (gr.Sidebar(open=True), message))
    def related(story_id: str) -> tuple[Any, str]:
        """Open the side panel on the stories related to `story_id`; returns (panel update, its HTML)."""
        story = service.story((story_id or "").strip())
        return gr.Sidebar(open=True), render.related_panel(story, service.related(story.id, RELATED_K))

    def refine(question: str, *rest: Any) -> SearchOutput:
        """A filter changed: search again, but only once there is a question to search for."""
        return search(question, *rest) if (question or "").strip() else (gr.skip(), gr.skip())

    with gr.Blocks(title="Story search") as ui:
        gr.HTML(f'<header class="masthead"><h1>Story search</h1><p>Ask in your own words across '
                f'{len(service.index):,} IOM news stories &middot; '
                '<a href="/docs">JSON API for programs</a></p></header>',
                js_on_load=None)
        with gr.Row(equal_height=False, elem_id="layout"):
            with gr.Column(scale=3, min_width=300):
                question = gr.Textbox(label="Your question",
                                      placeholder="e.g. training for police against migrant smuggling",
                                      max_length=MAX_QUERY_CHARS, submit_btn="Search", autofocus=True,
                                      elem_id="question")
                examples = gr.Dataset(components=[question], samples=[[q] for q in example_questions(service)],
                                      label="Try an example", elem_id="examples", layout="gallery")
                status = gr.HTML(render.status("info", "Type a question above and press Enter."), elem_id="status",
                                 js_on_load=None)
                results = gr.HTML("", elem_id="results", js_on_load=CARD_CLICKS)
            with gr.Column(scale=1, min_width=220, elem_id="filters"):
                gr.HTML('<h2 class="filters-title">Filters</h2>', js_on_load=None)
                countries = gr.Dropdown(choices=service.countries(), multiselect=True, label="Country",
                                        info="stories about any of these", elem_id="country")
                date_from = gr.DateTime(include_time=False, type="string", label="From date", elem_id="date-from")
                date_to = gr.DateTime(include_time=False, type="string", label="To date", elem_id="date-to")
                k = gr.Slider(1, min(MAX_K, 50), value=10, step=1, label="Number of results", elem_id="k")
                mode = gr.Radio(MODE_CHOICES, value="hybrid", label="Match by", elem_id="mode")
                diversify = gr.Checkbox(False, label="Spread topics", elem_id="diversify",
                                        info="fewer near-repeats of one initiative")
        with gr.Sidebar(open=False, position="right", width=420, elem_id="related-panel") as sidebar:
            related_view = gr.HTML(render.status("info", "Choose “Related stories” on any result."),
                                   elem_id="related", js_on_load=CARD_CLICKS)
        picked = gr.Textbox(visible=False, label="Story id")

        inputs = [question, countries, date_from, date_to, k, mode, diversify]
        searching: dict[str, Any] = {"show_progress_on": results, "concurrency_id": "search"}
        question.submit(search, inputs, [status, results], api_name="search", **searching)
        examples.click(lambda sample: sample[0], examples, question, api_visibility="private").then(
            search, inputs, [status, results], api_visibility="private", **searching)
        refiners = [countries.change, date_from.change, date_to.change, k.release, mode.change, diversify.change]
        gr.on(refiners, refine, inputs, [status, results], api_visibility="private", **searching)
        # Onward: the related cards have "Related stories" buttons of their own.
        gr.on([results.click, related_view.click], _picked_story, None, picked, api_visibility="private").then(
            related, picked, [sidebar, related_view], api_name="related", show_progress_on=related_view)
        # Stories added through the API since start-up may name new countries: offer them on each page load.
        # Then the page is marked ready (listeners attached, start-up updates done): browser tests wait on it.
        ui.load(lambda: gr.Dropdown(choices=service.countries()), None, countries, api_visibility="private",
                show_progress="hidden").then(None, None, None, js=READY_JS, api_visibility="private")
    return ui


def _picked_story(event: gr.EventData) -> str:
    return str(getattr(event, "story_id", "") or "")


def _day(value: str | None) -> str | None:
    """A DateTime box's value as YYYY-MM-DD (it may carry a time part), or None when empty."""
    return (value or "").strip()[:10] or None


def mount_ui(app: FastAPI, service: SearchService, path: str = "/") -> FastAPI:
    """Serve the page on `app` at `path`, sharing the app's service, with the product theme and CSS."""
    ui = create_ui(service).queue(default_concurrency_limit=UI_CONCURRENCY)
    return gr.mount_gradio_app(app, ui, path=path, theme=theme(), css=CSS, footer_links=["api"],
                               show_error=False, run_history=False)

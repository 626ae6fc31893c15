"""The web UI: a Gradio Blocks page over `SearchService`, mounted at / beside the JSON API.

A thin layer: it reads form values (dates as people type them, `typed_dates`), calls the service, and turns
hits into HTML (`render`) and every error into a message on the page, in the reader's language (`texts`).
Its events carry explicit `api_name`s (`search`, `related`), so `gradio_client` users can call the same things
the page does. The collection's name, description and example questions come from its index.
"""
from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import gradio as gr
from fastapi import FastAPI

from ...collection import suggested_examples
from ...corpus import canonical_country, local_name
from ...corpus import language as language_of
from ...errors import StorySearchError
from ...retrieval import MAX_K, MAX_QUERY_CHARS, Filters, SearchService, in_topic, newest
from . import _render
from ._links import DEEP_LINK_JS, PANEL_JS, SCROLL_TO_RESULTS_JS, deep_link
from ._map_view import map_answers, map_component
from ._style import CSS, theme
from ._texts import I18N, TEXTS, count, language, month_first, say
from ._typed_dates import TypedDateError, read_day, shown

log = logging.getLogger(__name__)

RELATED_K = 5
UI_CONCURRENCY = 16  # UI events run at once (searches are short and CPU-bound; the thread pool holds 40)
MODES = ("hybrid", "dense", "lexical")  # the order the page offers them in
# Delegated from the component's root, so it keeps working however often the cards are re-rendered.
CARD_CLICKS = """
element.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-story]');
  if (button) trigger('click', {story_id: button.dataset.story, trail: button.dataset.trail || '[]'});
});
"""


def _in_browser_language(key: str) -> str:
    """A JS expression: the text `key` in the language Gradio's i18n picked (the browser's)."""
    return f"(navigator.language.startsWith('es') ? {TEXTS['es'][key]!r} : {TEXTS['en'][key]!r})"


# Said at once, in the browser, while the server works: a search or a related list on its way.
SEARCHING_JS = ("() => '<div class=\"status status-info\" role=\"status\">' + "
                f"{_in_browser_language('searching')} + '</div>'")
# The panel shows its top: a list opened from a card low in the panel must visibly replace it.
PANEL_TOP_JS = """() => { for (let el = document.getElementById('related'); el; el = el.parentElement) {
  el.scrollTop = 0; if (el.classList.contains('sidebar')) break; } }"""
RELATED_LOADING_JS = ("() => { (" + PANEL_TOP_JS + ")(); return '<div class=\"status status-info\" role=\"status\">' + "
                      f"{_in_browser_language('related_loading')} + '</div>'; }}")
# Listeners attached and start-up updates done: browser tests wait on it. On a phone the filters start folded
# (one line above the results) so the results come first.
READY_JS = """() => {
  if (window.innerWidth <= 720) document.querySelector('#filters .label-wrap.open')?.click();
  (""" + PANEL_JS + """)();
  document.documentElement.dataset.ready = 'true';
}"""
T = TypeVar("T")
SearchOutput = tuple[Any, Any, Any, Any, Any]  # status, result cards, the two date boxes as applied, map highlights
RELATED_TRAIL = 20  # stories the panel's way back remembers
DEFAULTS: dict[str, Any] = {"k": 10, "mode": "hybrid", "diversify": False}
LINK_KEYS = ("q", "query", "country", "date_from", "date_to", "k", "mode", "diversify")  # a deep link's


def _safely(on_error: Callable[[str], T]) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Errors become a message on the page (never a traceback); unexpected ones are logged first."""

    def decorate(fn: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(fn)
        def wrapper(*args: Any) -> T:
            try:
                return fn(*args)
            except StorySearchError as exc:
                return on_error(_render.status("error", str(exc)))
            except Exception:
                log.exception("web UI request failed")
                request = next((a for a in args if isinstance(a, gr.Request)), None)
                return on_error(_render.status("error", say(language(request), "broken")))

        return wrapper

    return decorate


class FormError(Exception):
    """A form value the page can't use, with the message (already in the reader's language) saying why."""


def _dates(typed_from: str | None, typed_to: str | None, lang: str, us: bool) -> tuple[str | None, str | None]:
    """The two date boxes as ISO days, or a FormError naming the box as the page labels it."""
    days = []
    for key, typed, end in (("date_from", typed_from, False), ("date_to", typed_to, True)):
        try:
            days.append(read_day(typed, end=end, month_first=us))
        except TypedDateError as exc:
            raise FormError(say(lang, f"date_{exc.reason}", field=say(lang, key), typed=exc.typed)) from None
    first, last = days
    if first and last and first > last:
        raise FormError(say(lang, "date_order", first=say(lang, "date_from"), second=say(lang, "date_to"),
                            a=shown(first, lang), b=shown(last, lang)))
    return first, last


def _box(typed: str | None, day: str | None, lang: str) -> Any:
    """A date box's new text: its reading, only when that differs from what it says (rewriting it with what
    it already says could undo typing done while the search ran)."""
    return shown(day, lang) if (typed or "").strip() != shown(day, lang) else gr.skip()


def country_choices(service: SearchService, lang: str) -> list[tuple[str, str]]:
    """(label, country) pairs: the name in the page's language, then the other when it differs, so either
    can be typed into the box ("Méx" and "Mex" both find Mexico)."""
    choices = []
    for country in service.countries():
        names = dict.fromkeys([local_name(country, lang), local_name(country, "en" if lang == "es" else "es")])
        choices.append((" · ".join(names), country))
    return sorted(choices, key=lambda choice: choice[0].casefold())


def create_ui(service: SearchService) -> gr.Blocks:
    """The page. Call `mount_ui` to serve it (Gradio 6 takes theme and CSS at mount time)."""
    config = service.index.config

    @_safely(lambda message: (message, "", gr.skip(), gr.skip(), {"hits": []}))
    def search(question: str, countries: list[str] | None, date_from: str | None, date_to: str | None,
               k: float, mode: str, diversify: bool = False, request: gr.Request | None = None) -> SearchOutput:
        """Search the stories; returns (status, result cards, the two date boxes as applied, map highlights).

        Without a question it lists the newest stories the filters let through: a collection can be browsed."""
        lang = language(request)
        question = question or ""
        try:
            if len(question) > MAX_QUERY_CHARS:
                raise FormError(say(lang, "too_long", n=len(question), limit=MAX_QUERY_CHARS))
            first, last = _dates(date_from, date_to, lang, month_first(request))
        except FormError as exc:
            return _render.status("error", str(exc)), "", gr.skip(), gr.skip(), {"hits": []}
        boxes = (_box(date_from, first, lang), _box(date_to, last, lang))
        filters = Filters(tuple(countries or ()), first, last)
        if not question.strip():
            hits, total = newest(service.index, filters, int(k))
            line = say(lang, "newest", shown=len(hits), count=count(lang, total)) if hits else \
                say(lang, "no_match" if filters.active else "none_found")
            return _render.status("info", line), _render.cards(hits, lang), *boxes, {"hits": []}
        result = service.search(question, int(k), mode or "hybrid", filters, diversify=bool(diversify))
        undated = service.undated_left_out(filters)
        notes = [say(lang, "undated_one") if undated == 1 else say(lang, "undated", n=undated)] if undated else []
        if not result.hits:
            note = say(lang, "no_match") if filters.active else say(lang, "none_found")
            return (_render.status("info", note) + "".join(_render.status("note", n) for n in notes), "", *boxes,
                    {"hits": []})
        link = deep_link(question, filters, int(k), mode or "hybrid", bool(diversify))
        return (_render.count_line(len(result.hits), result.took_ms, result.answerable, lang, notes, result.unmentioned)
                + _render.export_links(link, lang), _render.cards(result.hits, lang), *boxes,
                map_answers(service, result.hits, question, lang, result.answerable))

    @_safely(lambda message: (gr.Sidebar(open=True), message))
    def related(story_id: str, trail: str = "[]", request: gr.Request | None = None) -> tuple[Any, str]:
        """Open the side panel on the story `story_id` and the stories related to it; `trail` (a JSON list of
        ids) holds the stories opened before it in the panel, for its way back."""
        story = service.story((story_id or "").strip())
        hits = service.related(story.id, RELATED_K)
        return gr.Sidebar(open=True), _render.related_panel(story, hits, language(request), _trail(trail))

    def _trail(text: str) -> list[Any]:
        """The stories a trail of ids names, oldest first; ids no longer in the index are passed over."""
        try:
            ids = json.loads(text or "[]")
        except ValueError:
            return []
        stories = []
        for story_id in ids[-RELATED_TRAIL:] if isinstance(ids, list) else []:
            try:
                stories.append(service.story(str(story_id)))
            except StorySearchError:
                continue
        return stories

    @_safely(lambda message: (message, "", gr.skip()))
    def topic(event: gr.EventData, request: gr.Request | None = None) -> tuple[str, str, Any]:
        """List the stories of the map topic a reader chose, in the list tab."""
        lang = language(request)
        number = int(_event_field(event, "topic", -1))
        atlas = service.index.atlas
        hits, total = in_topic(service.index, number, 50)
        label = atlas.labels[number] if atlas is not None and 0 <= number < len(atlas.labels) else ""
        message = say(lang, "topic_stories", label=label, shown=len(hits), count=count(lang, total))
        line = _render.status("info", message)
        return line, _render.cards(hits, lang), gr.Tabs(selected="list")

    def search_if_linked(question: str, countries: list[str] | None, date_from: str | None, date_to: str | None,
                         k: float, mode: str, diversify: bool = False, request: gr.Request | None = None) -> Any:
        """On opening the page: the search its address carries, if any (a plain visit waits for a question)."""
        if request is None or not any(key in request.query_params for key in LINK_KEYS):
            return (gr.skip(),) * 5
        return search(question, countries, date_from, date_to, k, mode, diversify, request)

    def on_load(request: gr.Request | None) -> tuple[Any, ...]:
        """Per visit: the live story count (the API may have added some), and countries and example questions in
        the reader's language."""
        lang = language(request)
        index = service.index
        return (_render.masthead(index.config.name, index.config.description, len(index), lang),
                gr.Dropdown(choices=country_choices(service, lang)), gr.Dataset(samples=[[q] for q in _examples(lang)]))

    def linked(request: gr.Request | None) -> tuple[Any, ...]:
        """The form as the page's address fills it (a shared link opens on its search), once the country box has
        its choices. Only what the link sets is changed: setting a box to what it holds could fire its change
        event and a search nobody asked for."""
        asked = _asked(request.query_params if request is not None else {}, language(request))
        values = [asked[key] if asked[key] not in ("", [], None) and asked[key] != DEFAULTS.get(key) else gr.skip()
                  for key in ("countries", "question", "date_from", "date_to", "k", "mode", "diversify")]
        return tuple(values)

    def _asked(params: Any, lang: str) -> dict[str, Any]:
        """The search a page address carries (?q=...&country=...&from=...&to=...&k=...&mode=...), each value
        checked: one the page can't use is left at its default rather than failing the page."""
        getlist = getattr(params, "getlist", lambda key: [params[key]] if key in params else [])
        known = set(service.countries())
        countries = [c for c in (canonical_country(name) for name in getlist("country")) if c in known]
        try:
            k = min(max(int(params.get("k", 10)), 1), min(MAX_K, 50))
        except ValueError:
            k = 10
        mode = params.get("mode", "hybrid")
        return {"question": (params.get("q") or params.get("query") or "")[:MAX_QUERY_CHARS], "countries": countries,
                "date_from": (params.get("date_from") or "")[:40], "date_to": (params.get("date_to") or "")[:40],
                "k": k, "mode": mode if mode in MODES else "hybrid",
                "diversify": params.get("diversify", "") in ("1", "true", "on")}

    def _examples(lang: str) -> list[str]:
        """The collection's example questions, those in the reader's language first; a collection given none is
        shown its map's largest topics."""
        given = list(service.index.config.examples)
        if not given and service.index.atlas is not None:
            given = list(suggested_examples(service.index.atlas.labels))
        return sorted(given, key=lambda q: language_of(q) != lang)

    examples = _examples("en")
    with gr.Blocks(title=config.name or "Story search") as ui:
        masthead = gr.HTML(_render.masthead(config.name, config.description, len(service.index)), js_on_load=None,
                           elem_id="masthead")
        question = gr.Textbox(label=I18N("question"), placeholder=I18N("question_hint"), submit_btn=I18N("search"),  # type: ignore[arg-type]
                              lines=1, max_lines=4, autofocus=True, elem_id="question")
        example_set = gr.Dataset(components=[question], samples=[[q] for q in examples], label=I18N("examples"),
                                 elem_id="examples", layout="gallery") if examples else None
        browse = gr.Button(I18N("browse"), elem_id="browse", variant="secondary", size="sm")
        with gr.Row(equal_height=False, elem_id="layout"):
            with gr.Column(scale=3, min_width=300, elem_id="main"):
                status = gr.HTML(_render.status("info", say("en", "hint")), elem_id="status", js_on_load=None)
                with gr.Tabs(elem_id="views") as views:
                    with gr.Tab(I18N("tab_list"), id="list"):
                        results = gr.HTML("", elem_id="results", js_on_load=CARD_CLICKS)
                    with gr.Tab(I18N("tab_map"), id="map-tab"):
                        atlas = map_component(service)
            with gr.Column(scale=1, min_width=220, elem_id="filters"), gr.Accordion(I18N("filters"), open=True):
                countries = gr.Dropdown(choices=country_choices(service, "en"), multiselect=True,
                                        label=I18N("country"), info=I18N("country_info"), elem_id="country")
                date_from = gr.Textbox(label=I18N("date_from"), info=I18N("date_info"), elem_id="date-from",
                                       max_lines=1)
                date_to = gr.Textbox(label=I18N("date_to"), info=I18N("date_info"), elem_id="date-to", max_lines=1)
                k = gr.Slider(1, min(MAX_K, 50), value=10, step=1, label=I18N("k"), elem_id="k")
                mode = gr.Radio([(I18N(f"mode_{m}"), m) for m in MODES], value="hybrid", label=I18N("mode"),
                                elem_id="mode")
                diversify = gr.Checkbox(False, label=I18N("diversify"), info=I18N("diversify_info"),
                                        elem_id="diversify")
        with gr.Sidebar(open=False, position="right", width=420, elem_id="related-panel") as sidebar:
            related_view = gr.HTML(_render.status("info", say("en", "related_hint")), elem_id="related",
                                   js_on_load=CARD_CLICKS)
        picked = gr.Textbox(visible=False, label="Story id")
        trail = gr.Textbox("[]", visible=False, label="Stories opened before it")

        inputs = [question, countries, date_from, date_to, k, mode, diversify]
        outputs = [status, results, date_from, date_to, atlas]
        # One listener for the question and every filter, run for the last trigger once the running search is
        # done: results can't arrive out of order, so what a page shows is always what its boxes say.
        triggers = [question.submit, countries.change, date_from.submit, date_from.blur, date_to.submit,
                    date_to.blur, k.release, mode.change, diversify.change]
        searching: dict[str, Any] = {"show_progress_on": results, "concurrency_id": "search"}
        gr.on(triggers[:1], None, None, status, js=SEARCHING_JS, api_visibility="private")
        gr.on(triggers, search, inputs, outputs, api_name="search", trigger_mode="always_last", **searching).then(
            None, js=SCROLL_TO_RESULTS_JS, api_visibility="private")
        # The page's address follows what it shows, so it can be bookmarked or sent; on a phone the results
        # come into view.
        gr.on(triggers, None, inputs, None, js=DEEP_LINK_JS, api_visibility="private")
        if example_set is not None:
            example_set.click(lambda sample: sample[0], example_set, question, api_visibility="private").then(
                None, None, status, js=SEARCHING_JS).then(search, inputs, outputs, api_visibility="private",
                                                          **searching).then(
                None, inputs, None, js=DEEP_LINK_JS, api_visibility="private").then(
                None, js=SCROLL_TO_RESULTS_JS, api_visibility="private")
        browse.click(lambda: "", None, question, api_visibility="private").then(
            search, inputs, outputs, api_visibility="private", **searching).then(
            None, inputs, None, js=DEEP_LINK_JS, api_visibility="private").then(
            None, js=SCROLL_TO_RESULTS_JS, api_visibility="private")
        # Onward: related cards have "Related stories" buttons of their own, and map points open stories too.
        opened = [results.click, related_view.click, atlas.click]
        gr.on(opened, None, None, related_view, js=RELATED_LOADING_JS, api_visibility="private")
        gr.on(opened, _picked_story, None, [picked, trail], api_visibility="private").then(
            related, [picked, trail], [sidebar, related_view], api_name="related", show_progress="hidden").then(
            None, js=PANEL_TOP_JS, api_visibility="private")
        atlas.select(topic, None, [status, results, views], api_visibility="private").then(
            None, js=SCROLL_TO_RESULTS_JS, api_visibility="private")
        loaded = [masthead, countries, *([example_set] if example_set is not None else [])]

        def load_page(request: gr.Request) -> tuple[Any, ...]:
            return on_load(request)[:len(loaded)]

        ui.load(load_page, None, loaded, api_visibility="private", show_progress="hidden").then(
            linked, None, [countries, question, date_from, date_to, k, mode, diversify], api_visibility="private",
            show_progress="hidden").then(search_if_linked, inputs, outputs, api_visibility="private", **searching).then(
            None, None, None, js=READY_JS, api_visibility="private")
    return ui


def _picked_story(event: gr.EventData) -> tuple[str, str]:
    return str(_event_field(event, "story_id", "") or ""), str(_event_field(event, "trail", "") or "[]")


def _event_field(event: gr.EventData, name: str, default: Any) -> Any:
    """A field of the data the page's script sent with an event; `default` when a call came without any (a
    client of Gradio's routes may send none, and Gradio's attribute access then fails)."""
    data = event._data  # where Gradio keeps the payload the script sent (None when a call sent none)
    return data.get(name, default) if isinstance(data, dict) else default


def mount_ui(app: FastAPI, service: SearchService, path: str = "/", *, queued: bool = True) -> FastAPI:
    """Serve the page on `app` at `path`, sharing the app's service, with the product theme, CSS and texts.

    Unless `queued`, the page sends each event as one request of its own instead of through Gradio's queue,
    whose join and event stream must reach the one process that holds it: with several server processes,
    any of them then answers the page (the queue stays open for `gradio_client` callers)."""
    ui = create_ui(service).queue(default_concurrency_limit=UI_CONCURRENCY)
    if not queued:
        for event in ui.fns.values():
            event.queue = False
    # No "Use via API" footer: Gradio's own API page describes the page's internal events; the JSON API for
    # programs is documented at /docs, which the masthead links to.
    return gr.mount_gradio_app(app, ui, path=path, theme=theme(), css=CSS, footer_links=[], i18n=I18N,
                               show_error=False, run_history=False)

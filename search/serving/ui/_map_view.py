"""The map of the collection on the page: a canvas in a `gr.HTML` that draws the index's `Atlas`.

A canvas rather than a plot component: Gradio 6's plots (native or Plotly) show tooltips but send no click on
a point back to Python, and 20,000 points as SVG elements are slow to draw; a canvas draws them in a few
milliseconds and a grid of cells finds the point under the mouse without scanning them all. The points come
from the server once, when the map is first shown (a server function, so a page that never opens the map
never loads them); searches send only their answers' points, as the component's value.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...collection import sample_rows, timeline
from ...corpus import fold, local_name
from ...retrieval import Hit, SearchService
from ._texts import LANGUAGES, TEXTS, say

MAX_POINTS = 20_000  # points sent to a page; a larger collection is sampled evenly across its topics
SCRIPT = (Path(__file__).with_name("map.js")).read_text(encoding="utf-8")
TEMPLATE = """<div class="atlas" data-drawn="0" data-highlighted="0">
  <div class="atlas-bar-top"><p class="atlas-caption"></p><fieldset class="atlas-colour"></fieldset></div>
  <div class="atlas-body">
    <div class="atlas-plot"><canvas></canvas><div class="atlas-labels"></div><div class="atlas-tip" hidden></div></div>
    <aside class="atlas-timeline"></aside>
  </div>
  <p class="atlas-note" role="status"></p><div class="atlas-legend"></div>
</div>"""


def _rounded(values: np.ndarray) -> list[float]:
    return np.round(values.astype(np.float64), 4).tolist()


def map_points(service: SearchService, language: str) -> dict[str, Any]:
    """Everything the map draws, for a page in `language`: points (sampled past MAX_POINTS), topics, timeline."""
    lang = language if language in LANGUAGES else "en"
    index = service.index
    atlas = index.atlas
    texts = {k: v for k, v in TEXTS[lang].items() if k.startswith("map_")}
    if atlas is None:
        return {"missing": say(lang, "map_none"), "texts": texts}
    rows = sample_rows(atlas.topics, MAX_POINTS)
    stories = [index.stories[r] for r in rows.tolist()]
    display = {fold(name): name for name in index.columns.country_names}
    by_size = sorted(display, key=lambda c: -len(index.columns.country_rows[c]))  # colours go to the largest
    country_of = {c: i for i, c in enumerate(by_size)}
    live = np.flatnonzero(index.live)  # the atlas and `stories` list live stories; the columns every row
    days = index.columns.dates[live[rows]]
    topics = []
    for t, label in enumerate(atlas.labels):
        members = atlas.coords[atlas.topics == t]
        if len(members):
            x, y = np.median(members, axis=0).tolist()
            topics.append({"label": label, "x": round(x, 4), "y": round(y, 4), "size": len(members)})
        else:
            topics.append({"label": label, "x": None, "y": None, "size": 0})
    n = len(index)
    caption = say(lang, "map_all", n=n) if len(rows) == n else say(lang, "map_sampled", shown=len(rows), n=n)
    return {
        "n": n, "caption": caption, "texts": texts, "lang": lang,
        "ids": [s.id for s in stories], "titles": [s.title or TEXTS[lang]["untitled"] for s in stories],
        "x": _rounded(atlas.coords[rows, 0]), "y": _rounded(atlas.coords[rows, 1]),
        "topic": atlas.topics[rows].tolist(),
        "country": [country_of.get(fold(s.countries[0]), -1) if s.countries else -1 for s in stories],
        "countries": [local_name(display[c], lang) for c in by_size],
        "day": np.where(np.isnat(days), -1, days.astype("int64")).tolist(),
        "topics": topics, "timeline": timeline(index.columns.dates[live]),
    }


def map_answers(service: SearchService, hits: list[Hit], question: str, lang: str,
                answerable: bool = True) -> dict[str, Any]:
    """The map component's value after a search: where each hit sits, best first, and a note that calls them
    answers only when they are (a question nothing answers rings its nearest stories)."""
    index = service.index
    atlas = index.atlas_rows()  # every row's point: hits are found by row
    if atlas is None:
        return {"hits": []}
    points = []
    for hit in hits:
        x, y = atlas.coords[index.row(hit.story.id)].tolist()
        points.append({"id": hit.story.id, "title": hit.story.title, "x": round(x, 4), "y": round(y, 4)})
    note = say(lang, "map_answers" if answerable else "map_nearest", n=len(points), question=question[:80])
    return {"hits": points, "note": note if points else ""}


def map_component(service: SearchService) -> Any:
    """The map's `gr.HTML`; its `points(language)` server function feeds the script."""
    import gradio as gr

    def points(language: str) -> dict[str, Any]:
        return map_points(service, str(language or "en")[:2])

    return gr.HTML({"hits": []}, html_template=TEMPLATE, js_on_load=SCRIPT, elem_id="map", server_functions=[points],
                   min_height=420)

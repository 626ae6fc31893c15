"""HTML for the web UI: result cards, status lines and the related-stories panel.

Pure functions from hits to markup, kept apart from the Gradio wiring so they can be read and tested on
their own. Every piece of story text goes through `html.escape`: the corpus is data, never markup.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from html import escape
from urllib.parse import urlencode

from babel.dates import format_date

from ...corpus import Story
from ...retrieval import Hit, Snippet
from ._texts import count, say

NOT_ANSWERABLE = say("en", "not_answerable")
OPENING_CHARS = 320  # of a story's body, shown above its related stories


def marked(snippet: Snippet) -> str:
    """The snippet, escaped, with each highlighted [start, end) span wrapped in <mark>."""
    out, at = [], 0
    for start, end in sorted(snippet.highlights):
        if start < at or end > len(snippet.text):  # overlapping or out-of-range spans: show the text plainly
            continue
        out += [escape(snippet.text[at:start]), "<mark>", escape(snippet.text[start:end]), "</mark>"]
        at = end
    out.append(escape(snippet.text[at:]))
    return "".join(out)


def when(iso: str | None, lang: str = "en") -> str:
    """A story's day as the reader's language writes it ("8 Nov 2021", "8 nov 2021")."""
    try:
        return format_date(date.fromisoformat(iso), "d MMM y", locale=lang) if iso else ""
    except ValueError:
        return iso or ""


def _meta(hit: Hit, lang: str) -> str:
    """Date, place and, for a search hit, its score in words and as a number (no hover needed: phones have
    none), its meaning in the tooltip."""
    story, parts = hit.story, []
    if story.date:
        parts.append(f'<time datetime="{escape(story.date)}">{escape(when(story.date, lang))}</time>')
    where = story.place or ", ".join(story.countries)
    if where:
        parts.append(f'<span class="place">{escape(where)}</span>')
    if hit.match is not None:
        hint = escape(say(lang, "match_hint", score=hit.score))
        parts.append(f'<span class="score match-{escape(hit.match)}" tabindex="0" title="{hint}" '
                     f'data-score="{hit.score:.2f}">{escape(say(lang, "match_" + hit.match))}'
                     f'<span class="score-n"> · {hit.score:.2f}</span></span>')
    return '<span class="sep" aria-hidden="true">·</span>'.join(parts)


def card(hit: Hit, lang: str = "en", trail: Sequence[str] = ()) -> str:
    """One story; its "Related stories" button carries `trail`, the stories opened before it in the panel."""
    s = hit.story
    title = escape(s.title or say(lang, "untitled"))
    return (f'<li><article class="card" data-id="{escape(s.id)}">'
            f'<h3 class="card-title">{title}</h3>'
            f'<div class="meta">{_meta(hit, lang)}</div>'
            f'<p class="snippet">{marked(hit.snippet)}</p>'
            f'<button type="button" class="related-btn" data-story="{escape(s.id)}" '
            f'data-trail="{escape(json.dumps(list(trail)))}" '
            f'aria-label="{escape(say(lang, "related_for", title=s.title))}">{say(lang, "related_button")} &rarr;'
            f'</button></article></li>')


def cards(hits: Sequence[Hit], lang: str = "en", trail: Sequence[str] = ()) -> str:
    return f'<ol class="cards">{"".join(card(h, lang, trail) for h in hits)}</ol>' if hits else ""


def export_links(params: Mapping[str, object], lang: str = "en") -> str:
    """Links that download the shown results, as the API answers the same search: CSV and JSON."""
    query = escape(urlencode(params, doseq=True))
    return (f'<p class="export">{escape(say(lang, "export"))} '
            f'<a href="/api/search.csv?{query}" download="search.csv">CSV</a> · '
            f'<a href="/api/search?{query}" download="search.json">JSON</a></p>')


def status(kind: str, text: str) -> str:
    """A status line; kind is info, warn or error (errors are announced to screen readers at once)."""
    role = "alert" if kind == "error" else "status"
    return f'<div class="status status-{kind}" role="{role}">{escape(text)}</div>'


def count_line(n: int, took_ms: float, answerable: bool, lang: str = "en", notes: Sequence[str] = (),
               unmentioned: Sequence[str] = ()) -> str:
    """How many stories were found; a warning first when none really answers (naming the names no story
    mentions, when that is why); `notes` (e.g. undated stories a date filter left out) after."""
    found = status("info", say(lang, "found", count=count(lang, n), ms=took_ms))
    why = " " + say(lang, "unmentioned", names=", ".join(unmentioned)) if unmentioned else ""
    warning = "" if answerable else status("warn", say(lang, "not_answerable") + why)
    return warning + found + "".join(status("note", note) for note in notes)


def masthead(name: str, description: str, stories: int, lang: str = "en") -> str:
    """The collection's name and description, as its index states them, with its live story count."""
    about = f"{escape(description)} &middot; " if description else ""
    return (f'<header class="masthead"><h1>{escape(name)}</h1><p>{about}{escape(count(lang, stories))} &middot; '
            f'<a href="/docs">{escape(say(lang, "api_link"))}</a></p></header>')


def _opening(story: Story) -> str:
    body = story.body if len(story.body) <= OPENING_CHARS else story.body[:OPENING_CHARS].rsplit(" ", 1)[0] + " …"
    return f'<p class="related-opening">{escape(body)}</p>' if body else ""


def related_panel(story: Story, hits: Sequence[Hit], lang: str = "en", trail: Sequence[Story] = ()) -> str:
    """The story itself (title, date, place, its opening), then the stories related to it; with a way back
    to the story opened before it when it was reached from the panel (`trail`, oldest first)."""
    day = [f'<time datetime="{escape(story.date)}">{escape(when(story.date, lang))}</time>'] if story.date else []
    where = [f'<span class="place">{escape(story.place or ", ".join(story.countries))}</span>'] \
        if story.place or story.countries else []
    meta = '<span class="sep" aria-hidden="true">·</span>'.join(day + where)
    back = ""
    if trail:
        before, earlier = trail[-1], [s.id for s in trail[:-1]]
        back = (f'<button type="button" class="related-btn back-btn" data-story="{escape(before.id)}" '
                f'data-trail="{escape(json.dumps(earlier))}">&larr; '
                f'{escape(say(lang, "related_back", title=before.title or say(lang, "untitled")))}</button>')
    head = (f'{back}<p class="related-kicker">{say(lang, "related_to")}</p>'
            f'<h2 class="related-title">{escape(story.title or say(lang, "untitled"))}'
            f'</h2>{f"<div class=meta>{meta}</div>" if meta else ""}{_opening(story)}')
    if not hits:
        return head + status("info", say(lang, "related_none"))
    return head + cards(hits, lang, [*(s.id for s in trail), story.id])

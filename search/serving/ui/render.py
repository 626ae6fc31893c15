"""HTML for the web UI: result cards, status lines and the related-stories panel.

Pure functions from hits to markup, kept apart from the Gradio wiring so they can be read and tested on
their own. Every piece of story text goes through `html.escape`: the corpus is data, never markup.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape

from ...corpus import Story
from ...retrieval import Hit, Snippet

NOT_ANSWERABLE = "No story answers this closely; the nearest stories are shown."


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


def _when(iso: str | None) -> str:
    try:
        return date.fromisoformat(iso).strftime("%-d %b %Y") if iso else ""
    except ValueError:
        return iso or ""


def _meta(story: Story, score: float, score_hint: str) -> str:
    parts = []
    if story.date:
        parts.append(f'<time datetime="{escape(story.date)}">{escape(_when(story.date))}</time>')
    where = story.place or ", ".join(story.countries)
    if where:
        parts.append(f'<span class="place">{escape(where)}</span>')
    parts.append(f'<span class="score" title="{escape(score_hint)}">score {score:.3f}</span>')
    return '<span class="sep" aria-hidden="true">·</span>'.join(parts)


def card(hit: Hit, score_hint: str) -> str:
    s = hit.story
    title = escape(s.title or "(untitled)")
    return (f'<li><article class="card" data-id="{escape(s.id)}">'
            f'<h3 class="card-title">{title}</h3>'
            f'<div class="meta">{_meta(s, hit.score, score_hint)}</div>'
            f'<p class="snippet">{marked(hit.snippet)}</p>'
            f'<button type="button" class="related-btn" data-story="{escape(s.id)}" '
            f'aria-label="Related stories for: {title}">Related stories &rarr;</button>'
            f'</article></li>')


def cards(hits: Sequence[Hit], score_hint: str) -> str:
    return f'<ol class="cards">{"".join(card(h, score_hint) for h in hits)}</ol>' if hits else ""


def status(kind: str, text: str) -> str:
    """A status line; kind is info, warn or error (errors are announced to screen readers at once)."""
    role = "alert" if kind == "error" else "status"
    return f'<div class="status status-{kind}" role="{role}">{escape(text)}</div>'


def count_line(n: int, took_ms: float, answerable: bool) -> str:
    found = f"{n} {'story' if n == 1 else 'stories'} · {took_ms:.0f} ms"
    if not answerable:
        return status("warn", NOT_ANSWERABLE) + status("info", found)
    return status("info", found)


def related_panel(story: Story, hits: Sequence[Hit]) -> str:
    head = (f'<p class="related-kicker">Related to</p><h2 class="related-title">{escape(story.title)}</h2>')
    if not hits:
        return head + status("info", "No other stories are close to this one.")
    return head + cards(hits, "similarity of meaning to the story above, 0 to 1")

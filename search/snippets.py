"""Snippets that explain a hit: the sentences of the story that best match the question, terms highlighted."""
from __future__ import annotations

import re

from .hits import Snippet
from .lexical import tokenize

_SENTENCE = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)]*\s+(?=[\"'\u201c(]?[A-Z0-9\u00C0-\u00DD])")
_WORD = re.compile(r"\w+")
MAX_CHARS = 320


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]


def _stem(word: str) -> str:
    """A crude shared prefix: enough for "smuggling" to light up "smuggle" in a highlight."""
    return word[:5] if len(word) > 5 else word


def make_snippet(question: str, title: str, body: str, max_chars: int = MAX_CHARS) -> Snippet:
    """The body's best-matching run of sentences (its opening when nothing matches), terms highlighted."""
    terms = {_stem(t) for t in tokenize(question)}
    parts = sentences(body) or [title]
    scores = [len(terms & {_stem(t) for t in tokenize(s)}) for s in parts]
    best = max(range(len(parts)), key=lambda i: (scores[i], -i)) if parts else 0
    text = parts[best]
    nxt = best + 1
    while nxt < len(parts) and len(text) + len(parts[nxt]) + 1 <= max_chars:
        text, nxt = f"{text} {parts[nxt]}", nxt + 1
    if len(text) > max_chars:
        text = text[:max_chars].rsplit(" ", 1)[0] + " \u2026"
    return Snippet(text, highlight(text, terms))


def highlight(text: str, stems: set[str]) -> tuple[tuple[int, int], ...]:
    spans = []
    for m in _WORD.finditer(text):
        token = tokenize(m.group())
        if token and _stem(token[0]) in stems:
            spans.append((m.start(), m.end()))
    return tuple(spans)

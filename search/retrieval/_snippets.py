"""Snippets that explain a hit: the sentences of the story that best match the question, terms highlighted.

Matching uses the lexical index's terms (folded words cut to their first letters), so "smuggling" lights up
"smuggled" and a Spanish question's cognates ("migrantes", "crisis", "personas") light up the English
story's "migrants", "crisis", "persons". Embedding every sentence of every hit would match meaning
across languages too, but costs a model call per sentence on each search; when no sentence shares a term
the story's opening is shown, which in a news story is its summary.
"""
from __future__ import annotations

import functools
import re

from ..collection import tokenize
from ._results import Snippet

# A sentence ends at . ! or ? plus any closing quotes or brackets, before white space and a capital or digit.
_END = re.compile(r"[.!?][\"'\u201d\u2019)]*(?=\s+[\"'\u201c(]?[A-Z0-9\u00C0-\u00DD])")
_WORD = re.compile(r"\w+")
MAX_CHARS = 320


def sentences(text: str) -> list[str]:
    cuts = [0, *(m.end() for m in _END.finditer(text)), len(text)]
    return [part for a, b in zip(cuts, cuts[1:]) if (part := text[a:b].strip())]


def make_snippet(question: str, title: str, body: str, max_chars: int = MAX_CHARS) -> Snippet:
    """The body's best-matching run of sentences (its opening when nothing matches), terms highlighted.

    A sentence scores by how many distinct question terms it holds; the earliest wins a tie.
    """
    terms = set(tokenize(question))
    parts = sentences(body) or [title]
    scores = [len(terms.intersection(tokenize(s))) for s in parts]
    best = max(range(len(parts)), key=lambda i: (scores[i], -i))
    text = parts[best]
    nxt = best + 1
    while nxt < len(parts) and len(text) + len(parts[nxt]) + 1 <= max_chars:
        text, nxt = f"{text} {parts[nxt]}", nxt + 1
    if len(text) > max_chars:
        text = text[:max_chars].rsplit(" ", 1)[0] + " \u2026"
    return Snippet(text, highlight(text, terms))


def highlight(text: str, terms: set[str]) -> tuple[tuple[int, int], ...]:
    """[start, end) offsets of the words in `text` whose lexical term is one of `terms`."""
    return tuple((m.start(), m.end()) for m in _WORD.finditer(text) if _term(m.group()) in terms)


@functools.lru_cache(maxsize=65536)
def _term(word: str) -> str | None:
    """The lexical term of one word (None for a stopword); cached, since news prose repeats its words."""
    token = tokenize(word)
    return token[0] if token else None

"""JSON that comes from outside the program (index files, corpus and question files, request bodies), parsed
with its nesting bounded.

Python's parser descends once per level of nesting, so a few thousand `[` end in a RecursionError, which
no caller expects from a parse and which surfaced as a traceback. The nesting is counted first, without
recursion, and anything deeper than any file or request of this program needs is refused as invalid JSON:
a `json.JSONDecodeError`, so every caller's handling of bad JSON applies unchanged.
"""
from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64  # the program's own JSON nests a few levels; a story's or a request's never more than ten
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def too_deep(text: str | bytes, limit: int = MAX_DEPTH) -> int | None:
    """The offset where `text` first nests deeper than `limit`, or None. Strings are skipped whole, so
    brackets inside them do not count. Bytes are read as Latin-1: one character per byte keeps every
    bracket, quote and backslash of UTF-8 text where it is."""
    chars = text.decode("latin-1") if isinstance(text, bytes) else text
    if chars.count("[") + chars.count("{") <= limit:  # the usual case: no scan needed
        return None
    depth = 0
    for token in _TOKENS.finditer(chars):
        bracket = token.group()
        if bracket in ("[", "{"):
            depth += 1
            if depth > limit:
                return token.start()
        elif bracket in ("]", "}"):
            depth -= 1
    return None


def loads(text: str | bytes, limit: int = MAX_DEPTH, **options: Any) -> Any:
    """`json.loads` (with its `options`), refusing nesting deeper than `limit` with a `json.JSONDecodeError`
    before parsing."""
    at = too_deep(text, limit)
    if at is not None:
        document = text if isinstance(text, str) else text.decode("latin-1")
        raise json.JSONDecodeError(f"nested deeper than {limit} levels", document, at)
    return json.loads(text, **options)

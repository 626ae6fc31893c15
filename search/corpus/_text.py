"""Text normalisation shared by every reader of text: stories, questions, titles, country names, BM25 terms."""
from __future__ import annotations

import re
import unicodedata

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00a0": " "})
_SPACE = re.compile(r"\s+")
# Lone surrogates too: JSON's "\ud800" escape yields one, and it cannot be written out as UTF-8.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Unicode-normalise, drop control characters and lone surrogates, and fold runs of white space."""
    text = unicodedata.normalize("NFC", text).replace("\ufffd", " ")
    return _SPACE.sub(" ", _CONTROL.sub(" ", text)).strip()


def fold(text: str) -> str:
    """The comparison key for titles: case, curly quotes and spacing don't make two titles different."""
    return _SPACE.sub(" ", text.translate(_QUOTES)).strip().casefold()


def fold_accents(text: str) -> str:
    """Lower case without accents: "Migración", "MIGRACION" and "migracion" are one word to match on."""
    if text.isascii():  # most text: nothing to strip, and the per-character pass is the costly part
        return text.lower()
    text = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in text if not unicodedata.combining(c))

"""Which language a text is in, and whether it says anything at all: read the same way for stories and questions.

Only the two languages people ask in here are told apart (English and Spanish), by their function words
and Spanish-only marks, which needs no model and no dependency. The answer steers two things: a question
in another language than the collection's leans on the multilingual embedding rather than on word
matches, and the "unrelated question" level a cosine is measured against is that of its language.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

ENGLISH, SPANISH = "en", "es"
LANGUAGES = (ENGLISH, SPANISH)
SAMPLE = 200  # stories a collection's language is read from
_ES = frozenset("""de la el en y los las del que por para con una un al se su sus como lo es sobre entre
qué cómo cuál cuáles cuándo cuánto cuántos cuántas dónde por qué quién está están son fue han ha muy más
también pero sin desde hasta según""".split())
_EN = frozenset("""the of and to in is are was were for on with by from at as an be this that which what how
why when where who does did do has have had will would can could its their about after into than""".split())
_WORD = re.compile(r"\w+")


def language(text: str) -> str:
    """ENGLISH or SPANISH. Ties, and texts without a function word, are English unless they carry ñ, ¿, ¡ or
    an accented vowel (a search-box string like "producción de petróleo" still reads as Spanish)."""
    low = text[:1000].casefold()
    words = _WORD.findall(low)
    spanish = sum(w in _ES for w in words) + 2 * sum(c in "ñ¿¡" for c in low) + sum(c in "áéíóú" for c in low)
    english = sum(w in _EN for w in words)
    return SPANISH if spanish > english else ENGLISH


def majority_language(texts: Sequence[str]) -> str:
    """The language most of `texts` are in (SAMPLE of them, spread over the whole): a collection's language."""
    votes = [language(t) for t in texts[::max(1, len(texts) // SAMPLE)][:SAMPLE]]
    return max(LANGUAGES, key=votes.count) if votes else ENGLISH


def has_content(text: str) -> bool:
    """Whether the text holds a letter or a digit: emoji, punctuation, zero-width and combining marks alone
    ask nothing, whatever a model makes of them."""
    return any(unicodedata.category(c)[0] in "LN" for c in text)

"""Which language a text is in, and whether it says anything: no model, the same answer for stories and questions."""
from __future__ import annotations

import pytest

from search.corpus import ENGLISH, has_content, language, majority_language
from search.corpus._language import SPANISH


@pytest.mark.parametrize("text, expected", [
    ("What is IOM doing against migrant smuggling in Panama?", ENGLISH),
    ("¿Qué hace la OIM contra el tráfico de migrantes en Panamá?", SPANISH),
    ("producción de petróleo de la OPEP", SPANISH),  # a search-box string: the accent tells
    ("trata de personas", SPANISH),
    ("Regional Conference on Migration", ENGLISH),
    ("CORETT", ENGLISH),  # no function word, no Spanish mark: English by default
    ("Costa Rica Panama", ENGLISH),
])
def test_language_of_questions(text: str, expected: str):
    assert language(text) == expected


def test_a_collection_is_in_the_language_most_of_its_stories_are():
    assert majority_language(["the border and the migrants"] * 3 + ["la frontera y los migrantes"]) == ENGLISH
    assert majority_language(["la frontera y los migrantes"] * 3 + ["the border"]) == SPANISH
    assert majority_language([]) == ENGLISH


@pytest.mark.parametrize("text", ["🐧🌍", "\u200b\u0301", "?!", "¿¡", " ... ", "💶💶💶"])
def test_emoji_punctuation_and_marks_alone_say_nothing(text: str):
    assert not has_content(text)


@pytest.mark.parametrize("text", ["a", "7", "OIM", "移民", "🐧 penguins"])
def test_a_letter_or_digit_in_any_script_says_something(text: str):
    assert has_content(text)

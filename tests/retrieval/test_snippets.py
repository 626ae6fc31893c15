"""Snippets: the sentence that best matches the question, and highlight offsets that point at matched words."""
from __future__ import annotations

from search.collection._postings import tokenize
from search.retrieval._snippets import MAX_CHARS, make_snippet, sentences
from search.serving.api._schemas import HitOut

BODY = ("The ministry opened a new office in the capital. "
        "Police officers from three countries were trained to detect migrant smuggling at borders. "
        "The workshop ended with a ceremony. "
        "Organisers thanked the donors for their support.")


def highlighted(snippet) -> list[str]:
    return [snippet.text[a:b] for a, b in snippet.highlights]


def test_the_best_matching_sentence_leads_the_snippet():
    snippet = make_snippet("police training against smuggling", "Title", BODY)
    assert snippet.text.startswith("Police officers from three countries")
    assert highlighted(snippet) == ["Police", "trained", "smuggling"]  # "training" lights up "trained"


def test_highlights_are_word_offsets_inside_the_text():
    snippet = make_snippet("smuggled migrants", "Title", BODY)
    assert snippet.highlights
    for start, end in snippet.highlights:
        assert 0 <= start < end <= len(snippet.text)
        assert tokenize(snippet.text[start:end])[0] in set(tokenize("smuggled migrants"))


def test_a_spanish_question_highlights_its_english_cognates():
    snippet = make_snippet("tráfico ilícito de migrantes", "Title", BODY)
    assert snippet.text.startswith("Police officers") and "migrant" in highlighted(snippet)


def test_no_shared_word_shows_the_opening_unhighlighted():
    snippet = make_snippet("penguins", "Title", BODY)
    assert snippet.text.startswith("The ministry opened") and snippet.highlights == ()


def test_long_sentences_are_cut_at_a_word_within_the_limit():
    body = "Smuggling " + "word " * 200 + "end."
    snippet = make_snippet("smuggling", "Title", body)
    assert len(snippet.text) <= MAX_CHARS + 2 and snippet.text.endswith("\u2026")
    assert highlighted(snippet) == ["Smuggling"]


def test_sentence_split_keeps_abbreviations_and_quotes_sane():
    assert sentences('He said "yes." Then he left. 3 more came.') == ['He said "yes."', "Then he left.", "3 more came."]


def test_search_hits_carry_snippet_and_offsets(service):
    hit = service.search("migrant smuggling police training", k=1).hits[0]
    data = HitOut.of(hit).model_dump()
    assert data["snippet"] == hit.snippet.text and data["highlights"]
    words = {data["snippet"][a:b].casefold() for a, b in data["highlights"]}
    assert words & {"smuggling", "police", "training", "migrant", "migrants"}

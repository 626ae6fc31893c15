"""The UI's HTML: story text is escaped, matched words are marked, and each state says what it means."""
from __future__ import annotations

from search.corpus._story import make_story
from search.retrieval._results import Hit, Snippet
from search.serving.ui._render import NOT_ANSWERABLE, card, count_line, marked, related_panel, status


def test_marked_escapes_text_and_wraps_each_highlight() -> None:
    snippet = Snippet("Police <b>training</b> & smuggling", ((0, 6), (25, 34)))
    assert marked(snippet) == "<mark>Police</mark> &lt;b&gt;training&lt;/b&gt; &amp; <mark>smuggling</mark>"


def test_marked_ignores_overlapping_or_out_of_range_spans() -> None:
    assert marked(Snippet("abc def", ((0, 3), (1, 5), (4, 99)))) == "<mark>abc</mark> def"


def test_card_escapes_every_story_field() -> None:
    story = make_story('<img src=x onerror="alert(1)">', "body", id="a-1", date="2021-09-24",
                       place="<script>Georgetown</script>")
    html = card(Hit(story, 0.5, Snippet("body"), match="partial"))
    assert "<img" not in html and "<script>" not in html and "&lt;img" in html
    assert 'data-story="a-1"' in html and "24 Sep 2021" in html


def test_a_search_hit_shows_its_score_in_words_and_as_a_number_without_hover() -> None:
    """The number was in a hover tooltip only, which touch screens don't have."""
    hit = Hit(make_story("Title", "body"), 0.712, Snippet("body"), match="strong")
    html = card(hit)
    assert '>strong match<span class="score-n"> · 0.71</span></span>' in html and 'title="relevance 0.71 of 1' in html
    assert 'tabindex="0"' in html  # reachable from the keyboard, where the tooltip says what the number means
    assert ">coincidencia fuerte<" in card(hit, "es") and 'title="relevancia 0.71 de 1' in card(hit, "es")
    assert 'class="score' not in card(Hit(make_story("Title", "body"), 0.9, Snippet("body")))  # related: no words


def test_states_say_what_they_mean() -> None:
    assert NOT_ANSWERABLE in count_line(3, 12.0, answerable=False)
    assert "No story mentions Norway, Oslo." in count_line(3, 12.0, False, unmentioned=("Norway", "Oslo"))
    assert NOT_ANSWERABLE not in count_line(3, 12.0, answerable=True) and "3 stories" in count_line(3, 12.0, True)
    assert "1 story ·" in count_line(1, 1.0, True)
    assert 'role="alert"' in status("error", "broken <here>") and "&lt;here&gt;" in status("error", "broken <here>")
    assert "No other stories" in related_panel(make_story("Alone", "text"), [])


def test_card_dates_are_written_in_the_readers_language() -> None:
    hit = Hit(make_story("Title", "body", date="2021-11-08"), 0.5, Snippet("body"), match="partial")
    assert ">8 Nov 2021</time>" in card(hit, "en") and ">8 nov 2021</time>" in card(hit, "es")

""""Nothing answers this": the decision on the seeds with the default model, and the scores that go with it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from search.retrieval._answerable import RARE_NAME_SHARE, agreed, name_words
from search.retrieval._ranking import Ranking
from search.retrieval._relevance import ANSWERABLE
from tests.helpers import SMUGGLING


@pytest.mark.parametrize("question", ["penguin colonies on the Antarctic ice shelf", "Bitcoin price forecast for 2030",
                                      "recetas de cocina italiana con tomate", "How many iPhones did Apple sell?"])
def test_off_topic_questions_are_flagged_and_still_get_the_nearest_stories(service, question):
    result = service.search(question, k=5)
    assert result.answerable is False and len(result.hits) == 5
    assert all(h.match == "weak" and h.score < ANSWERABLE for h in result.hits)


@pytest.mark.parametrize("question", ["🐧🌍", "\u200b\u0301", "?!", "¿¡"])
def test_a_question_with_no_letter_or_digit_is_never_answerable(service, question):
    result = service.search(question, k=3)
    assert not result.answerable and result.hits[0].match == "weak"


def test_a_story_title_as_question_is_answerable_in_every_mode(service):
    for story in service.index.stories[:5]:
        for mode in ("dense", "lexical", "hybrid"):
            result = service.search(story.title, k=3, mode=mode)
            assert result.answerable and result.hits[0].match in ("strong", "partial"), (story.title, mode)


def test_scores_read_down_the_list_and_the_top_one_is_what_the_decision_read(service):
    for question in (SMUGGLING, "Regional Conference on Migration meetings", "penguins", "labour migration"):
        result = service.search(question, k=10)
        scores = [h.score for h in result.hits]
        assert scores == sorted(scores, reverse=True) and all(0.0 <= s <= 1.0 for s in scores)
        assert result.answerable == (scores[0] >= ANSWERABLE)
        for h in result.hits:  # the fusion's internals stay in `why`
            assert {"dense", "lexical", "fused", "relevance", "dense_relevance", "word_coverage"} <= set(h.why)
            assert h.score <= max(x.why["relevance"] for x in result.hits) + 1e-9


def test_a_strong_match_and_the_best_of_a_bad_lot_score_apart(service):
    strong = service.search(SMUGGLING, k=1).hits[0]
    bad_lot = service.search("best sourdough bread recipe", k=1).hits[0]
    assert strong.match == "strong" and bad_lot.match == "weak" and strong.score - bad_lot.score > 0.4


def test_asking_for_more_hits_or_for_diversity_never_changes_the_decision(service):
    for question in ("remittances sent home by migrants", SMUGGLING, "penguins on ice", "Norway fish farms"):
        decisions = {service.search(question, k=k, diversify=d).answerable
                     for k in (1, 3, 10, 30) for d in (False, True)}
        assert len(decisions) == 1, question


def test_a_name_no_story_mentions_vetoes_the_answer_and_says_so(service):
    result = service.search("migrant smuggling networks in Norway", k=5)
    assert not result.answerable and result.unmentioned == ("Norway",)
    assert result.hits[0].score < ANSWERABLE  # shown as weak, like the decision says
    assert result.hits[0].why["relevance"] >= result.hits[0].score  # the unscaled relevance stays in `why`


def test_a_name_the_stories_mention_does_not_veto(service):
    result = service.search("migrant smuggling in Panama", k=5)
    assert result.answerable and result.unmentioned == ()


def test_a_sentence_s_first_word_is_a_name_only_if_it_is_a_place_or_no_story_has_it(service):
    assert service.search("Brexit and migrant smuggling", k=5).unmentioned == ("Brexit",)
    assert service.search("Training police against migrant smuggling", k=5).unmentioned == ()
    assert service.search("Norway: migrant smuggling networks", k=5).unmentioned == ("Norway",)


def test_a_name_other_than_a_place_does_not_veto_a_strong_match(service):
    """A gene or a person written like a name, which the one story that answers spells otherwise or leaves out."""
    title = "Panama expands border security services to guarantee migrants' rights"
    result = service.search(f"{title}, says Hendricks", k=3)
    assert result.answerable and result.unmentioned == () and result.hits[0].match == "strong"


def test_a_year_no_story_mentions_vetoes_the_answer(service):
    result = service.search("migrant smuggling police training in 1995", k=3)
    assert not result.answerable and result.unmentioned == ("1995",)
    assert service.search("migrant smuggling police training in 2021", k=3).answerable


def test_a_key_word_no_story_mentions_counts_against_the_answer(service):
    """No seed story mentions climate: the question can't read as a strong match, however well "migration" does."""
    assert service.search("climate change and migration", k=1).hits[0].match != "strong"


def test_the_channels_agree_when_both_models_and_bm25_put_one_story_first():
    def ranking(*why: dict[str, float]) -> Ranking:
        return Ranking(np.arange(len(why)), np.linspace(1, 0, len(why)), list(why))

    first = {"dense": 0.9, "english": 0.7, "lexical": 3.0, "lexical_rank": 1}
    assert agreed(ranking(first, {"dense": 0.8, "english": 0.5, "lexical": 1.0, "lexical_rank": 2}))
    assert not agreed(ranking(first, {"dense": 0.95, "english": 0.5, "lexical": 1.0, "lexical_rank": 2}))
    assert not agreed(ranking({"dense": 0.9, "lexical": 3.0, "lexical_rank": 1}, {"dense": 0.8}))  # one model
    assert not agreed(ranking({"dense": 0.9, "english": 0.7}, {"dense": 0.8, "english": 0.5}))  # no words matched


def test_names_of_a_question_in_another_language_do_not_veto(service):
    # "Noruega" is how a Spanish question names Norway; the stories (English) would not say it either way.
    assert service.search("tráfico de migrantes en Noruega", k=5).unmentioned == ()


def test_a_rare_name_is_one_at_most_half_a_percent_of_the_stories_mention():
    assert RARE_NAME_SHARE == 0.005


@pytest.mark.parametrize("question, names", [
    ("Norway salmon farming", [("Norway", True)]),
    ("coal miners' strike led by Scargill", [("Scargill", False)]),
    # function words drop out as BM25 terms; a sentence's first word is marked as such
    ("What did De Beers say about diamonds?", [("What", True), ("De", False), ("Beers", False)]),
    ("Why did it close. Norway says", [("Why", True), ("Norway", True)]),
    ("C4D campaigns in OPEP countries", []),  # acronyms are not names: stories may spell them out
    ("Sac1 binds PI4P in iPhone cells, says Smith", [("Smith", False)]),  # codes are not names
    ("norway salmon farming", []),  # no case, no names
    ("NORWAY SALMON FARMING", []),
])
def test_names_are_capitalised_words_of_a_question_with_case(question: str, names: list[tuple[str, bool]]):
    assert name_words(question) == names


def test_in_lexical_mode_words_decide(service):
    assert service.search("CORETT", mode="lexical").answerable
    off = service.search("penguin colonies", mode="lexical")
    assert not off.answerable and np.all([h.match == "weak" for h in off.hits])


def test_held_out_off_topic_questions_are_all_flagged(service):
    """Everyday questions in English and Spanish that were never used to set anything (the probes are others)."""
    questions = [line.strip() for line in (Path(__file__).parent / "data" / "offtopic.txt").read_text().splitlines()
                 if line.strip() and not line.startswith("#")]
    assert len(questions) == 24
    assert [q for q in questions if service.search(q).answerable] == []

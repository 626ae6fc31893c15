""""Nothing answers this": the evidence (top cosine, idf-weighted word coverage) and the decision."""
from __future__ import annotations

import pytest

from search.collection.lexical import tokenize
from search.embedding import E5, MINILM
from search.retrieval.answerable import COVERAGE, DENSE_THRESHOLDS, coverage, is_answerable


def test_coverage_weighs_rare_words_above_common_ones(service):
    lexical = service.index.lexical
    assert coverage(lexical, "migration", "migration") == 1.0
    assert coverage(lexical, "the of and", "the of and") == 0.0  # stopwords only: no evidence
    common_and_rare = "migration CORETT"
    assert coverage(lexical, common_and_rare, "CORETT") > 0.8 > 0.2 > coverage(lexical, common_and_rare, "migration")


def test_words_the_collection_never_saw_weigh_most(service):
    lexical = service.index.lexical
    unseen, seen = lexical.idf(tokenize("zanzibar migration"))
    assert unseen == max(lexical.idf(tokenize("zanzibar CORETT migration"))) and unseen > seen
    assert coverage(lexical, "migrants in Zanzibar", "IOM helps migrants") < COVERAGE


@pytest.mark.parametrize("model", [E5, MINILM])
def test_the_decision_per_model(model):
    threshold = DENSE_THRESHOLDS[model]
    assert is_answerable(model, threshold, 0.0)
    assert not is_answerable(model, threshold - 0.01, 0.0)
    assert is_answerable(model, threshold - 0.01, COVERAGE)  # the words can vouch for a low cosine


def test_without_dense_evidence_or_calibration_only_words_decide():
    assert not is_answerable(E5, None, COVERAGE - 0.01) and is_answerable(E5, None, COVERAGE)
    assert not is_answerable("some/uncalibrated-model", 0.99, 0.0)
    assert is_answerable("some/uncalibrated-model", 0.1, 1.0)


@pytest.mark.parametrize("question", ["penguin colonies on the Antarctic ice shelf", "Bitcoin price forecast for 2030",
                                      "recetas de cocina italiana con tomate"])
def test_off_topic_questions_are_flagged_and_still_get_the_nearest_stories(service, question):
    result = service.search(question, k=5)
    assert not result.answerable and len(result.hits) == 5
    assert result.answerable is False


def test_a_story_title_as_question_is_answerable_in_every_mode(service):
    for story in service.index.stories[:5]:
        for mode in ("dense", "lexical", "hybrid"):
            assert service.search(story.title, k=3, mode=mode).answerable, (story.title, mode)

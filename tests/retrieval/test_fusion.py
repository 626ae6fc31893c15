"""Fusion functions and the ranking that uses them, on the real seed index."""
from __future__ import annotations

import re

import numpy as np
import pytest

from search import SearchService, build_index
from search.collection._postings import tokenize
from search.retrieval._fusion import (
    DENSE_WEIGHT,
    ENGLISH_SHARE,
    FOREIGN_LEXICAL_FACTOR,
    convex_fusion,
    minmax,
    question_weights,
    reciprocal_rank_fusion,
    related_weights,
)
from search.retrieval._ranking import rank
from tests.helpers import SEEDS


def test_minmax_rescales_and_equal_scores_are_all_or_nothing():
    assert minmax(np.array([2.0, 4.0, 3.0])).tolist() == [0.0, 1.0, 0.5]
    assert minmax(np.array([0.0, 0.0])).tolist() == [0.0, 0.0]
    assert minmax(np.array([0.83])).tolist() == [1.0]  # a lone candidate with evidence is the best one
    assert minmax(np.array([])).tolist() == []


def test_convex_fusion_without_lexical_evidence_keeps_the_dense_order():
    dense = np.array([0.81, 0.86, 0.79, 0.84])
    fused = convex_fusion([dense, np.zeros(4)], [0.7, 0.3])
    assert np.argsort(-fused).tolist() == np.argsort(-dense).tolist()


def test_convex_fusion_keeps_score_gaps_that_ranks_lose():
    """A lexical outlier (a rare name only one story has) overtakes a slightly better dense match."""
    dense = np.array([0.86, 0.85, 0.70])
    lexical = np.array([1.0, 12.0, 0.0])
    assert int(np.argmax(convex_fusion([dense, lexical], [0.7, 0.3]))) == 1
    assert int(np.argmax(convex_fusion([dense, lexical], [1.0, 0.0]))) == 0  # weight 1: dense alone


def test_the_english_model_reads_english_questions_over_english_stories_only():
    both = question_weights("en", "en", models=2)
    assert both.dense == pytest.approx((DENSE_WEIGHT * (1 - ENGLISH_SHARE), DENSE_WEIGHT * ENGLISH_SHARE))
    assert both.models == (0, 1) and sum(both.dense) + both.lexical == pytest.approx(1.0)
    spanish = question_weights("es", "en", models=2)
    assert spanish.models == (0,) and spanish.dense[1] == 0.0
    foreign = (1 - DENSE_WEIGHT) * FOREIGN_LEXICAL_FACTOR
    assert spanish.lexical / spanish.dense[0] == pytest.approx(foreign / DENSE_WEIGHT)
    assert question_weights("en", "es", models=2).models == (0,)  # English questions over Spanish stories
    assert question_weights("en", "en", models=1).dense == pytest.approx((DENSE_WEIGHT,))
    assert related_weights("en", models=2).models == (0, 1) and related_weights("es", models=2).models == (0,)


def test_reciprocal_rank_fusion_orders_by_summed_reciprocal_ranks():
    rows, scores = reciprocal_rank_fusion([np.array([3, 1, 2]), np.array([1, 2])], k=60)
    assert rows.tolist() == [1, 2, 3]
    assert scores[0] == pytest.approx(1 / 62 + 1 / 61)
    rows, _ = reciprocal_rank_fusion([np.array([3, 1]), np.array([1, 3])], weights=[2.0, 1.0])
    assert rows[0] == 3


def test_hybrid_candidates_carry_both_channels_exact_scores(service):
    index = service.index
    question = "migrant smuggling police training"
    vector = service.query_vector(question)
    ranking = rank(index, question, vector, "hybrid", service.weights("en"))
    lexical = index.lexical.scores(question)
    for row, why in zip(ranking.rows.tolist(), ranking.why):
        assert why["dense"] == pytest.approx(float(index.vectors_at(np.asarray([row]))[0] @ vector), abs=1e-5)
        assert why["lexical"] == pytest.approx(float(lexical[row]), rel=1e-5)
    assert np.all(np.diff(ranking.scores) <= 1e-12)  # best first


def acronyms_only_one_story_has(index) -> list[tuple[str, int]]:
    """(acronym, row) for every all-capitals word of the corpus whose term occurs in one story only."""
    stories_of: dict[str, set[int]] = {}
    for row, story in enumerate(index.stories):
        for t in tokenize(story.text):
            stories_of.setdefault(t, set()).add(row)
    found: dict[str, int] = {}
    for row, story in enumerate(index.stories):
        for word in re.findall(r"\b[A-Z]{4,}\b", story.body):
            if stories_of.get(tokenize(word)[0]) == {row}:
                found.setdefault(word, row)
    return sorted(found.items())


@pytest.mark.parametrize("mode", ["lexical", "hybrid"])
def test_an_acronym_only_one_story_has_finds_that_story_first(service, mode):
    """Names and acronyms are what embeddings blur: the words channel must bring their story to the top."""
    cases = acronyms_only_one_story_has(service.index)
    assert len(cases) >= 5
    misses = [(word, service.search(word, k=1, mode=mode).hits[0].story.title) for word, row in cases
              if service.search(word, k=1, mode=mode).hits[0].story.id != service.index.stories[row].id]
    assert not misses, misses


def test_modes_report_their_own_scores(service):
    q = "crisis communication"
    dense = service.search(q, k=3, mode="dense").hits
    lexical = service.search(q, k=3, mode="lexical").hits
    hybrid = service.search(q, k=3).hits
    assert all(0.0 <= h.why["fused"] <= 1.0 and "lexical" not in h.why and "dense" in h.why for h in dense)
    assert all(h.why["fused"] == pytest.approx(h.why["lexical"]) and "dense" not in h.why for h in lexical)
    assert all(0.0 <= h.why["fused"] <= 1.0 and {"dense", "lexical"} <= set(h.why) for h in hybrid)


def test_rrf_fusion_is_selectable(service):
    q = "crisis communication"
    rrf = SearchService(service.index, service.embedder, fusion="rrf")
    rrf_scores = [h.why["fused"] for h in rrf.search(q, k=3).hits]
    assert all(s < 2 / 61 for s in rrf_scores)  # reciprocal-rank scale, not [0, 1]
    with pytest.raises(ValueError):
        SearchService(service.index, service.embedder, fusion="median")
    with pytest.raises(ValueError):
        rank(service.index, q, service.query_vector(q), "hybrid", service.weights("en"), fusion="median")


def test_dense_mode_with_one_model_ranks_by_its_cosine(hashed_service):
    dense = hashed_service.search("crisis communication", k=3, mode="dense").hits
    assert all(h.why["fused"] == pytest.approx(h.why["dense"]) for h in dense)


def test_with_two_models_each_candidate_carries_each_model_s_exact_cosine(tmp_path):
    build_index([SEEDS], tmp_path, "hashing+hashing", laid_out=False)
    service = SearchService.open(tmp_path)
    question = "migrant smuggling police training"
    weights = service.weights("en")
    vector = service.query_vector(question, weights.models)
    assert vector.shape == (768,) and np.linalg.norm(vector[:384]) == pytest.approx(1.0)
    ranking = rank(service.index, question, vector, "hybrid", weights)
    stored = service.index.vectors_at(ranking.rows)
    np.testing.assert_allclose([w["dense"] for w in ranking.why], stored[:, :384] @ vector[:384], atol=1e-5)
    np.testing.assert_allclose([w["english"] for w in ranking.why], stored[:, 384:] @ vector[384:], atol=1e-5)
    spanish = service.query_vector("tráfico de migrantes", service.weights("es").models)
    assert not spanish[384:].any()  # the English model does not read a Spanish question
    assert "english" not in rank(service.index, "tráfico de migrantes", spanish, "hybrid", service.weights("es")).why[0]

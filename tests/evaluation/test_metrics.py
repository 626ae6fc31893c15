from __future__ import annotations

import math

import pytest

from search.evaluation._metrics import mrr_at, ndcg_at, recall_at


def test_perfect_ranking_scores_one():
    assert ndcg_at(10, [2, 1], [2, 1]) == 1.0
    assert recall_at(5, [1, 1, 0], [1, 1]) == 1.0
    assert mrr_at(10, [1, 0]) == 1.0


def test_linear_gain_and_log_discount():
    assert ndcg_at(10, [0, 2], [2]) == pytest.approx(1 / math.log2(3))
    assert ndcg_at(10, [1, 2], [2, 1]) == pytest.approx((1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3)))


def test_recall_divides_by_min_k_relevant_and_mrr_stops_at_k():
    assert recall_at(5, [1, 0, 0, 0, 0], [1] * 8) == pytest.approx(1 / 5)
    assert mrr_at(10, [0, 0, 1]) == pytest.approx(1 / 3)
    assert mrr_at(2, [0, 0, 1]) == 0.0

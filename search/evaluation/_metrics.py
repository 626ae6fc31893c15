"""IR metrics as in trec_eval: plain functions of a ranked list of grades and the judged grades."""
from __future__ import annotations

import math
from collections.abc import Sequence


def ndcg_at(k: int, ranked: Sequence[int], judged: Sequence[int]) -> float:
    """nDCG@k with linear gain: `ranked` are the grades of the returned items in order, `judged` all grades."""
    dcg = sum(g / math.log2(r + 2) for r, g in enumerate(ranked[:k]))
    ideal = sum(g / math.log2(r + 2) for r, g in enumerate(sorted(judged, reverse=True)[:k]))
    return dcg / ideal if ideal else 0.0


def mrr_at(k: int, ranked: Sequence[int]) -> float:
    return next((1.0 / (r + 1) for r, g in enumerate(ranked[:k]) if g >= 1), 0.0)


def recall_at(k: int, ranked: Sequence[int], judged: Sequence[int]) -> float:
    """Relevant items found in the top k, over min(k, number relevant) so a perfect ranking scores 1."""
    relevant = sum(1 for g in judged if g >= 1)
    return sum(1 for g in ranked[:k] if g >= 1) / min(k, relevant) if relevant else 0.0


def all_metrics(ranked: Sequence[int], judged: Sequence[int]) -> dict[str, float]:
    return {"ndcg@10": ndcg_at(10, ranked, judged), "mrr@10": mrr_at(10, ranked),
            "recall@5": recall_at(5, ranked, judged), "recall@10": recall_at(10, ranked, judged)}


def mean(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    if not rows:
        return {}
    return {key: round(sum(r[key] for r in rows) / len(rows), 4) for key in rows[0]}

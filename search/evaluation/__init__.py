"""Retrieval evaluation: metrics and runners for the dev-set format and BEIR folders."""
from ._metrics import all_metrics, mrr_at, ndcg_at, recall_at
from ._runner import (
                     BeirSet,
                     Question,
                     evaluate,
                     evaluate_beir,
                     evaluate_related,
                     load_beir,
                     load_qrels,
                     load_questions,
                     load_related,
                     title_resolver,
)

__all__ = ["BeirSet", "Question", "all_metrics", "evaluate", "evaluate_beir", "evaluate_related", "load_beir",
           "load_qrels", "load_questions", "load_related", "mrr_at", "ndcg_at", "recall_at", "title_resolver"]

"""Retrieval evaluation: metrics and runners for the dev-set format and BEIR folders."""
from .metrics import all_metrics, mrr_at, ndcg_at, recall_at
from .runner import Question, evaluate, evaluate_beir, evaluate_related, load_questions, title_resolver

__all__ = ["Question", "all_metrics", "evaluate", "evaluate_beir", "evaluate_related", "load_questions",
           "mrr_at", "ndcg_at", "recall_at", "title_resolver"]

"""Retrieval evaluation: metrics and runners for the dev-set format and BEIR folders."""
from ._runner import (
                      Question,
                      evaluate,
                      evaluate_beir,
                      evaluate_related,
                      load_beir,
                      load_questions,
                      load_related,
                      title_resolver,
)

__all__ = ["Question", "evaluate", "evaluate_beir", "evaluate_related", "load_beir", "load_questions", "load_related",
           "title_resolver"]

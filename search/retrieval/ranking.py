"""One ranking for every way of asking: a question (search) or a whole story (related stories).

Each channel proposes its best candidates (over the rows a filter allows), then every candidate gets its
exact score from both channels, so fusion compares like with like: a story that only BM25 proposed still
gets its true cosine, and one that only the embedding proposed its true BM25 score (often 0).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..collection import StoryIndex
from .fusion import DENSE_WEIGHT, convex_fusion, reciprocal_rank_fusion

CANDIDATES = 100  # per channel, before fusion
FUSIONS: tuple[str, ...] = ("convex", "rrf")


@dataclass(frozen=True)
class Ranking:
    rows: np.ndarray  # index rows, best first
    scores: np.ndarray  # the score each row was ranked by (fused, cosine or BM25 by mode)
    why: list[dict[str, float]]  # per row: the channels' scores and ranks behind its score

    def __len__(self) -> int:
        return len(self.rows)

    def without(self, positions: list[int]) -> Ranking:
        """This ranking less the entries at `positions`."""
        if not positions:
            return self
        keep = np.setdiff1d(np.arange(len(self.rows)), positions)
        return Ranking(self.rows[keep], self.scores[keep], [self.why[i] for i in keep])


def rank(index: StoryIndex, text: str, vector: np.ndarray | None, mode: str, *,
         allowed: np.ndarray | None = None, exclude: np.ndarray | None = None,
         dense_weight: float = DENSE_WEIGHT, fusion: str = "convex") -> Ranking:
    """Rank the index's stories for `text` (and its embedding `vector`, needed unless mode is lexical).

    `allowed` restricts the candidates before any top-n is taken (filters); `exclude` rows are never
    returned (a story's own row when it is the query).
    """
    if fusion not in FUSIONS:
        raise ValueError(f"fusion must be one of {', '.join(FUSIONS)}, got {fusion!r}")
    dense_rows = lexical_rows = np.zeros(0, dtype=np.int64)
    if mode in ("dense", "hybrid"):
        assert vector is not None, "dense ranking needs the query vector"
        dense_rows = index.nearest(vector, CANDIDATES, allowed, exclude)[0]
    if mode in ("lexical", "hybrid"):
        lexical_rows = index.lexical.top(text, CANDIDATES, allowed, exclude)[0]
    candidates = np.unique(np.concatenate([dense_rows, lexical_rows])).astype(np.int64)
    dense = (index.vectors_at(candidates) @ vector if vector is not None and len(candidates)
             else np.zeros(len(candidates)))
    lexical = np.zeros(len(candidates))
    if mode != "dense":  # the exact BM25 of every candidate, those the embedding proposed too
        lexical = index.lexical.scores_of(text, candidates)
        if exclude is not None and len(exclude):
            lexical[np.isin(candidates, exclude)] = 0.0
    if mode == "dense":
        score = dense
    elif mode == "lexical":
        score = lexical
    elif fusion == "rrf":
        fused_rows, fused = reciprocal_rank_fusion([dense_rows, lexical_rows])
        score = np.zeros(len(candidates))
        score[np.searchsorted(candidates, fused_rows)] = fused
    else:
        score = convex_fusion(dense, lexical, dense_weight)
    order = np.lexsort((candidates, -dense, -score))  # ties: nearer in meaning first, then by row for stability
    ranks = {name: {int(r): i for i, r in enumerate(rows.tolist(), 1)}
             for name, rows in (("dense_rank", dense_rows), ("lexical_rank", lexical_rows)) if len(rows)}
    why = []
    for i in order.tolist():
        row = int(candidates[i])
        detail = {}
        if mode != "lexical":
            detail["dense"] = float(dense[i])
        if mode != "dense":
            detail["lexical"] = float(lexical[i])
        detail.update({name: r[row] for name, r in ranks.items() if row in r})
        why.append(detail)
    return Ranking(candidates[order], np.asarray(score, dtype=np.float64)[order], why)

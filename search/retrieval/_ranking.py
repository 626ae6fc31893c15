"""One ranking for every way of asking: a question (search) or a whole story (related stories).

The multilingual model and BM25 each propose their best candidates (over the rows a filter allows), then every
candidate gets its exact score from every channel that reads the query, so fusion compares like with like: a
story that only BM25 proposed still gets its true cosines, and one that only the embedding proposed its true
BM25 score (often 0). The English model only rescores: proposing its own candidates as well measured no
better (docs/quality.md), and it would need a second vector engine.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..collection import StoryIndex
from ..embedding import split
from ._fusion import Weights, convex_fusion, reciprocal_rank_fusion

CANDIDATES = 100  # per channel, before fusion
FUSIONS: tuple[str, ...] = ("convex", "rrf")
MODEL_KEYS = ("dense", "english")  # a candidate's cosine by each model of the vectors, in `Ranking.why`


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


def first_model(vectors: np.ndarray, dims: tuple[int, ...]) -> np.ndarray:
    """`vectors` with every part but the first model's zeroed: what the vector engine searches by, so its
    inner products are the multilingual model's cosines."""
    out = np.zeros_like(vectors)
    out[..., :dims[0]] = vectors[..., :dims[0]]
    return out


def model_cosines(index: StoryIndex, rows: np.ndarray, vector: np.ndarray | None,
                  models: tuple[int, ...]) -> np.ndarray:
    """(models of the index, rows): the cosine of each row's story to `vector` by each of `models` (0 for
    the others)."""
    dims = index.scale.dims
    cosines = np.zeros((len(dims), len(rows)))
    if vector is not None and models and len(rows):
        for m, (stored, asked) in enumerate(zip(split(index.vectors_at(rows), dims), split(vector, dims))):
            if m in models:
                cosines[m] = stored @ asked
    return cosines


def rank(index: StoryIndex, text: str, vector: np.ndarray | None, mode: str, weights: Weights, *,
         allowed: np.ndarray | None = None, exclude: np.ndarray | None = None, fusion: str = "convex") -> Ranking:
    """Rank the index's stories for `text` (and its embedding `vector`, needed unless mode is lexical: each
    model's part of it, zero for a model that did not read `text`), each channel counting by `weights`.

    `allowed` restricts the candidates before any top-n is taken (filters); `exclude` rows are never
    returned (a story's own row when it is the query).
    """
    if fusion not in FUSIONS:
        raise ValueError(f"fusion must be one of {', '.join(FUSIONS)}, got {fusion!r}")
    dims = index.scale.dims
    dense_rows = lexical_rows = np.zeros(0, dtype=np.int64)
    if mode in ("dense", "hybrid"):
        assert vector is not None, "dense ranking needs the query vector"
        dense_rows = index.nearest(first_model(vector, dims), CANDIDATES, allowed, exclude)[0]
    if mode in ("lexical", "hybrid"):
        lexical_rows = index.lexical.top(text, CANDIDATES, allowed, exclude)[0]
    candidates = np.unique(np.concatenate([dense_rows, lexical_rows])).astype(np.int64)
    models = weights.models if vector is not None else ()
    cosines = model_cosines(index, candidates, vector, models)
    dense = cosines[0]
    lexical = np.zeros(len(candidates))
    if mode != "dense":  # the exact BM25 of every candidate, those the embedding proposed too
        lexical = index.lexical.scores_of(text, candidates)
        if exclude is not None and len(exclude):
            lexical[np.isin(candidates, exclude)] = 0.0
    if mode == "lexical":
        score = lexical
    elif mode == "dense":  # the models' cosines, weighted: raw, so a filter only removes stories from the order
        score = np.average(cosines, axis=0, weights=weights.dense) if len(candidates) else dense
    elif fusion == "rrf":
        fused_rows, fused = reciprocal_rank_fusion([dense_rows, lexical_rows])
        score = np.zeros(len(candidates))
        score[np.searchsorted(candidates, fused_rows)] = fused
    else:
        score = convex_fusion([*cosines, lexical], [*weights.dense, weights.lexical])
    order = np.lexsort((candidates, -dense, -score))  # ties: nearer in meaning first, then by row for stability
    ranks = {name: {int(r): i for i, r in enumerate(rows.tolist(), 1)}
             for name, rows in (("dense_rank", dense_rows), ("lexical_rank", lexical_rows)) if len(rows)}
    why = []
    for i in order.tolist():
        row = int(candidates[i])
        detail = {}
        if mode != "lexical":
            detail.update({MODEL_KEYS[m]: float(cosines[m, i]) for m in models})
        if mode != "dense":
            detail["lexical"] = float(lexical[i])
        detail.update({name: r[row] for name, r in ranks.items() if row in r})
        why.append(detail)
    return Ranking(candidates[order], np.asarray(score, dtype=np.float64)[order], why)

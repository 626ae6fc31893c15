"""BM25 over title and body, for names, acronyms and exact phrases that embeddings blur.

Scores are computed at query time from the whole collection's statistics (`Lexical`: live stories,
document frequencies net of deleted stories, average length) over each segment's postings (`postings`), so
a story scores the same in a small delta segment as after the merge that folds it into the base. Lucene's
BM25 (Kamphuis et al., ECIR 2020).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._postings import NO_COUNTS, Postings, TermCounts, tokenize

K1, B = 1.5, 0.75  # the usual term-frequency saturation and length normalisation
EXACT_BELOW = 20_000  # allowed rows (a narrow filter) are scored directly: cheaper than pruning


class Lexical:
    """BM25 over the segments of one collection, as one: rows are the collection's rows (segment after
    segment), and statistics are the live stories', net of the `dead` counts of deleted ones."""

    def __init__(self, parts: Sequence[Postings], offsets: np.ndarray, live: np.ndarray,
                 dead: TermCounts = NO_COUNTS) -> None:
        self.parts, self.offsets, self.live, self.dead = list(parts), offsets, live, dead
        self._dead_rows = np.flatnonzero(~live)
        self.size = len(live)
        self.stories = int(live.sum())
        total = sum(p.total_length for p in self.parts) - dead.length
        self.avg_length = total / self.stories if self.stories else 1.0

    def df(self, terms: Sequence[str]) -> np.ndarray:
        """Live stories holding each term."""
        return np.array([sum(p.df(t) for p in self.parts) - self.dead.terms.get(t, 0) for t in terms],
                        dtype=np.float64)

    def holding(self, terms: Sequence[str], rows: np.ndarray) -> np.ndarray:
        """Whether the story at each of `rows` holds each of `terms`: a (rows, terms) boolean matrix read
        from the postings, so checking a few hits' words costs no tokenizing of their text."""
        out = np.zeros((len(rows), len(terms)), dtype=bool)
        rows = np.asarray(rows, dtype=np.int64)
        for part, offset in zip(self.parts, self.offsets):
            local = rows - offset
            inside = (local >= 0) & (local < len(part))
            if not inside.any():
                continue
            for j, t in enumerate(terms):
                held = part.entries(t)[0]  # ascending: a few lookups, however many stories hold the term
                if len(held):
                    at = np.searchsorted(held, local).clip(max=len(held) - 1)
                    out[:, j] |= inside & (held[at] == local)
        return out

    def idf(self, terms: Sequence[str]) -> np.ndarray:
        """BM25's idf of each term; a term no story holds gets the highest idf there is (df = 0)."""
        df = self.df(terms)
        return np.log(1.0 + (self.stories - df + 0.5) / (df + 0.5))

    def weights(self) -> tuple[Any, list[str]]:
        """Every row's BM25 weight for every term (a scipy CSC matrix, rows x terms), and the terms by column:
        what a term says of a story, as the whole collection weighs it."""
        from scipy.sparse import csc_matrix

        terms: dict[str, int] = {}
        cols, rows, data = [], [], []
        for part, offset in zip(self.parts, self.offsets):
            ids = np.asarray([terms.setdefault(t, len(terms)) for t in part.terms], dtype=np.int64)
            weight = self.idf(part.terms) if part.terms else np.zeros(0)
            entry_terms = part.entry_terms()
            tf = np.asarray(part.tf, dtype=np.float64)
            local = np.asarray(part.rows, dtype=np.int64)
            tfc = self._over_saturation(tf, tf, np.asarray(part.lengths, dtype=np.float64)[local], np.float64)
            cols.append(ids[entry_terms] if len(ids) else entry_terms)
            rows.append(local + offset)
            data.append(weight[entry_terms] * tfc if len(weight) else tfc)
        row, col, value = (np.concatenate(a) for a in (rows, cols, data))
        live = self.live[row]
        return csc_matrix((value[live], (row[live], col[live])), shape=(self.size, len(terms))), list(terms)

    def _weights(self, terms: list[str]) -> dict[str, np.float32]:
        unique = list(dict.fromkeys(terms))
        return dict(zip(unique, self.idf(unique).astype(np.float32), strict=True))

    def _saturated(self, part: Postings, rows: np.ndarray, tf: np.ndarray, weight: np.float32) -> np.ndarray:
        """A term's BM25 contribution to `rows` of `part` that hold it `tf` times (float32, as `scores` adds it)."""
        return self._over_saturation(weight * tf, tf, part.lengths[rows], np.float32)

    def _over_saturation(self, numerator: np.ndarray, tf: np.ndarray, lengths: np.ndarray,
                         dtype: type[np.floating]) -> np.ndarray:
        """`numerator` over BM25's saturation of a term held `tf` times by rows of these lengths,
        `tf + K1 * (1 - B + B * length / avg_length)`, in `dtype`. Taking the numerator, not multiplying by
        its result, keeps each caller's float rounding: the scores (float32) and the weights (float64)."""
        return numerator / (tf + dtype(K1 * (1 - B)) + dtype(K1 * B / self.avg_length) * lengths)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every row for `query` (a term asked twice counts twice); deleted rows score 0."""
        out = np.zeros(self.size, dtype=np.float32)
        terms = tokenize(query)
        if not terms or not self.stories:
            return out
        weight = self._weights(terms)
        for t in terms:
            for part, offset in zip(self.parts, self.offsets):
                rows, tf = part.entries(t)
                if len(rows):
                    out[offset + rows] += self._saturated(part, rows, tf, weight[t])
        out[self._dead_rows] = 0.0
        return out

    def scores_of(self, query: str, rows: np.ndarray) -> np.ndarray:
        """`scores(query)[rows]`, the same float32 values, computed for those rows only: each term's entries
        for them are found by binary search, whatever number of stories hold it."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.zeros(len(rows), dtype=np.float32)
        terms = tokenize(query)
        if not terms or not self.stories or not len(rows):
            return out
        weight = self._weights(terms)
        for t in terms:
            at, added = self._held_by(t, rows, weight[t])
            out[at] += added
        out[~self.live[rows]] = 0.0
        return out

    def _held_by(self, t: str, rows: np.ndarray, weight: np.float32) -> tuple[np.ndarray, np.ndarray]:
        """The positions in `rows` of the rows that hold term `t` (found by binary search in its entries), and
        what it adds to their scores."""
        positions, added = [], []
        for part, offset in zip(self.parts, self.offsets):
            held, tf = part.entries(t)
            inside = np.flatnonzero((rows >= offset) & (rows < offset + len(part)))
            if not len(held) or not len(inside):
                continue
            local = rows[inside] - offset
            at = np.searchsorted(held, local).clip(max=len(held) - 1)
            found = held[at] == local
            positions.append(inside[found])
            added.append(self._saturated(part, local[found], tf[at[found]], weight))
        if not positions:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        return np.concatenate(positions), np.concatenate(added)

    def top(self, query: str, n: int, allowed: np.ndarray | None = None,
            exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(rows, scores) of the n best-scoring rows with a positive score, best first (ties by row), among
        `allowed` rows (every row when None), never one of `exclude`: what sorting `scores` would give.

        Without scoring every story (MaxScore, Turtle & Flood 1995): terms are taken rarest first, and once
        the terms left could not lift a story that holds none of the terms taken so far above the n-th best
        score found, no such story can make the list; the stories that might are then scored exactly. The
        common words of a question, which most stories hold, are looked up for those stories only."""
        terms = tokenize(query)
        if not terms or not self.stories or n < 1:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if allowed is not None and len(allowed) <= EXACT_BELOW:
            candidates = np.asarray(allowed, dtype=np.int64)
        else:
            candidates = self._candidates(terms, n, allowed, exclude)
        if exclude is not None and len(exclude):
            candidates = candidates[~np.isin(candidates, exclude)]
        exact = self.scores_of(query, candidates)
        keep = exact > 0
        candidates, exact = candidates[keep], exact[keep]
        order = np.lexsort((candidates, -exact))[:n]
        return candidates[order], exact[order]

    def _candidates(self, terms: list[str], n: int, allowed: np.ndarray | None,
                    exclude: np.ndarray | None) -> np.ndarray:
        """The rows that might be among the n best for `terms` (see `top`), a few more than n in general."""
        weight = self._weights(terms)
        bound = {t: float(weight[t]) * terms.count(t) for t in weight}  # a term adds less than its weight a time
        order = sorted(bound, key=lambda t: -bound[t])
        valid = self.live
        if allowed is not None or (exclude is not None and len(exclude)):
            valid = np.zeros(self.size, dtype=bool) if allowed is not None else self.live.copy()
            if allowed is not None:
                valid[allowed] = self.live[allowed]
            if exclude is not None:
                valid[exclude] = False
        partial = np.zeros(self.size, dtype=np.float32)  # the taken terms' sum; pages are zeroed when first touched
        touched = np.zeros(self.size, dtype=bool)  # the rows holding a taken term
        best = np.zeros(0, dtype=np.int64)  # the n best rows so far, and the n-th best partial score
        threshold, taken = 0.0, 0
        for t in order:
            if len(best) >= n and sum(bound[u] for u in order[taken:]) < threshold:
                break
            holding = []
            for part, offset in zip(self.parts, self.offsets):
                rows, tf = part.entries(t)
                if len(rows):
                    partial[offset + rows] += self._saturated(part, rows, tf, weight[t]) * np.float32(terms.count(t))
                    holding.append(offset + np.asarray(rows, dtype=np.int64))
            taken += 1
            if not holding:
                continue
            rows = np.concatenate(holding)
            touched[rows] = True
            # The new n best are among the old n best and the stories holding this term: the others' scores
            # did not change, and they were not among the n best before.
            at = np.searchsorted(rows, best).clip(max=len(rows) - 1)  # rows ascend: parts in order, rows in each
            pool = np.concatenate([best[rows[at] != best], rows[valid[rows]]])
            if len(pool) > n:
                pool = pool[np.argpartition(-partial[pool], n - 1)[:n]]
            best = pool
            threshold = float(partial[best].min()) if len(best) >= n else 0.0
        if not len(best):
            return np.zeros(0, dtype=np.int64)
        # The terms left are looked up for the stories that could still make it only, rarest first; after each,
        # the stories that even the terms still left could not lift to the n-th best score are out. The margin
        # allows for float32 sums taken in another order than `scores_of` takes them.
        left = sum(bound[u] for u in order[taken:])
        seen = np.flatnonzero(touched & valid)
        seen = seen[partial[seen] + np.float32(left) >= np.float32(threshold * (1 - 1e-5))]
        for t in order[taken:]:
            left -= bound[t]
            at, added = self._held_by(t, seen, weight[t])
            partial[seen[at]] += added * np.float32(terms.count(t))
            if len(seen) > n:
                threshold = max(threshold, float(np.partition(partial[seen], len(seen) - n)[len(seen) - n]))
            seen = seen[partial[seen] + np.float32(max(left, 0.0)) >= np.float32(threshold * (1 - 1e-5))]
        return seen

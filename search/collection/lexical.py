"""BM25 over title and body, for names, acronyms and exact phrases that embeddings blur.

Each segment of an index keeps its own postings (`Postings`: for every term, the rows that hold it and how
often, as a term-major CSR matrix of numpy arrays, plus each row's length), written once and never changed.
Scores are computed at query time from the whole collection's statistics (`Lexical`: live stories,
document frequencies net of deleted stories, average length), so a story scores the same in a small delta
segment as after the merge that folds it into the base. Lucene's BM25 (Kamphuis et al., ECIR 2020).
"""
from __future__ import annotations

import functools
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import bounded_json
from ..corpus import fold_accents
from .arrays import mapped, save_array

K1, B = 1.5, 0.75  # the usual term-frequency saturation and length normalisation
_WORD = re.compile(r"\w+")
# Function words of the two languages people ask in; keeping them would let "the"/"de" decide rankings.
STOPWORDS = frozenset("""
a an and are as at be but by for from has have in into is it its of on or that the their this to was were
what which who will with how why when where do does did about after can our we they them there these those
de la el en y los las del que por para con una un al se su sus como lo es o sobre entre
""".split())
# Words are cut to their first PREFIX characters ("truncation stemming", McNamee & Mayfield): one rule for
# every language that joins "migrant"/"migration"/"migratoria" and "persons"/"personas" without a
# per-language stemmer or an extra dependency, so a Spanish question shares terms with English stories.
# Its effect per question category is in docs/quality.md.
PREFIX = 5
EXACT_BELOW = 20_000  # allowed rows (a narrow filter) are scored directly: cheaper than pruning
FILES = ("terms.json", "indptr.npy", "rows.npy", "tf.npy", "lengths.npy")


def words(text: str) -> list[str]:
    """Lower-case, accent-folded words minus stopwords: "Migración" and "migracion" are one word."""
    return [w for w in _WORD.findall(fold_accents(text)) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


def term(word: str) -> str:
    """The index term of one folded word (digits are kept whole: years and counts are exact)."""
    return word if word.isdigit() else word[:PREFIX]


def tokenize(text: str) -> list[str]:
    """The BM25 terms of a text, in order: folded words cut to their prefix."""
    return [term(w) for w in words(text)]


@dataclass(frozen=True)
class TermCounts:
    """What a set of stories adds to the collection's statistics: stories per term, and their total length.

    A write that deletes or replaces stories records theirs, so the whole collection's statistics stay exact
    without rereading the segments the stories were in."""

    terms: Mapping[str, int]
    length: float = 0.0

    @classmethod
    def of(cls, texts: Iterable[str]) -> TermCounts:
        counts: Counter[str] = Counter()
        length = 0
        for text in texts:
            tokens = tokenize(text)
            counts.update(set(tokens))
            length += len(tokens)
        return cls(dict(counts), float(length))

    def __add__(self, other: TermCounts) -> TermCounts:
        return TermCounts(dict(Counter(self.terms) + Counter(other.terms)), self.length + other.length)

    def to_dict(self) -> dict:
        return {"terms": dict(sorted(self.terms.items())), "length": self.length}

    @classmethod
    def from_dict(cls, d: Mapping) -> TermCounts:
        return cls({str(k): int(v) for k, v in d["terms"].items()}, float(d["length"]))


NO_COUNTS = TermCounts({})


@dataclass(frozen=True)
class Postings:
    """One segment's inverted index: `rows[indptr[t]:indptr[t + 1]]` hold term t, `tf` times each."""

    terms: list[str]  # local term id -> term
    indptr: np.ndarray  # int64, len(terms) + 1
    rows: np.ndarray  # int32 local rows, ascending within each term
    tf: np.ndarray  # float32, occurrences of the term in the row
    lengths: np.ndarray  # float32, terms per row

    def __post_init__(self) -> None:
        object.__setattr__(self, "_ids", {t: i for i, t in enumerate(self.terms)})

    @classmethod
    def build(cls, texts: Sequence[str]) -> Postings:
        ids: dict[str, int] = {}
        term_of, row_of, tf = [], [], []
        lengths = np.zeros(len(texts), dtype=np.float32)
        for row, text in enumerate(texts):
            tokens = tokenize(text)
            lengths[row] = len(tokens)
            for t, count in Counter(tokens).items():
                term_of.append(ids.setdefault(t, len(ids)))
                row_of.append(row)
                tf.append(count)
        return cls.from_entries(list(ids), np.asarray(term_of, np.int64), np.asarray(row_of, np.int64),
                                np.asarray(tf, np.float32), lengths)

    @classmethod
    def from_entries(cls, terms: list[str], term_of: np.ndarray, row_of: np.ndarray, tf: np.ndarray,
                     lengths: np.ndarray) -> Postings:
        """From (term id, row, tf) entries in any order."""
        order = np.lexsort((row_of, term_of))
        indptr = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum(np.bincount(term_of, minlength=len(terms)), out=indptr[1:])
        return cls(terms, indptr, row_of[order].astype(np.int32), tf[order].astype(np.float32),
                   lengths.astype(np.float32))

    def __len__(self) -> int:
        return len(self.lengths)

    def term_id(self, t: str) -> int | None:
        return self._ids.get(t)  # type: ignore[attr-defined]

    def df(self, t: str) -> int:
        i = self.term_id(t)
        return 0 if i is None else int(self.indptr[i + 1] - self.indptr[i])

    def entries(self, t: str) -> tuple[np.ndarray, np.ndarray]:
        """(rows, tf) of term `t` (empty when the segment never saw it)."""
        i = self.term_id(t)
        if i is None:
            return self.rows[:0], self.tf[:0]
        start, end = self.indptr[i], self.indptr[i + 1]
        return self.rows[start:end], self.tf[start:end]

    def entry_terms(self) -> np.ndarray:
        """The local term id of every entry, in entry order."""
        return np.repeat(np.arange(len(self.terms), dtype=np.int64), np.diff(self.indptr))

    @classmethod
    def merge(cls, parts: Sequence[tuple[Postings, np.ndarray]]) -> Postings:
        """One segment's postings from several, keeping the rows each part's mask keeps, renumbered in order.

        Plain array work (no text is tokenized again), so compacting a large index costs a sort of its
        postings, not a re-read of every story."""
        terms: dict[str, int] = {}
        term_of, row_of, tf, lengths = [], [], [], []
        start = 0
        for postings, keep in parts:
            new_row = np.cumsum(keep) - 1 + start
            remap = np.asarray([terms.setdefault(t, len(terms)) for t in postings.terms], dtype=np.int64)
            entry_terms = postings.entry_terms()
            kept = keep[postings.rows]
            term_of.append(remap[entry_terms[kept]] if len(remap) else entry_terms[kept])
            row_of.append(new_row[postings.rows[kept]])
            tf.append(postings.tf[kept])
            lengths.append(postings.lengths[keep])
            start += int(keep.sum())
        return cls.from_entries(list(terms), np.concatenate(term_of) if term_of else np.zeros(0, np.int64),
                                np.concatenate(row_of) if row_of else np.zeros(0, np.int64),
                                np.concatenate(tf) if tf else np.zeros(0, np.float32),
                                np.concatenate(lengths) if lengths else np.zeros(0, np.float32))

    @functools.cached_property
    def total_length(self) -> float:
        """Terms in all rows together (dead ones included): the collection's average length is built from it."""
        return float(np.sum(self.lengths, dtype=np.float64))

    def save(self, folder: Path) -> list[str]:
        (folder / "terms.json").write_text(json.dumps(self.terms, ensure_ascii=False), encoding="utf-8")
        return ["terms.json", *(save_array(folder, name, getattr(self, name))
                                for name in ("indptr", "rows", "tf", "lengths"))]

    @classmethod
    def load(cls, folder: Path, size: int) -> Postings:
        """The postings saved in `folder`, for a segment of `size` rows; arrays are memory-mapped, and only
        their shapes and types are checked here (`check` reads every entry)."""
        terms = bounded_json.loads((folder / "terms.json").read_text(encoding="utf-8"))
        postings = cls(terms, **{name: mapped(folder / f"{name}.npy") for name in ("indptr", "rows", "tf", "lengths")})
        p = postings
        ok = (isinstance(p.terms, list) and all(isinstance(t, str) for t in p.terms)
              and p.indptr.dtype == np.int64 and p.rows.dtype == np.int32 and p.tf.dtype == np.float32
              and p.lengths.dtype == np.float32 and p.indptr.shape == (len(p.terms) + 1,)
              and p.lengths.shape == (size,) and p.rows.shape == p.tf.shape and p.rows.ndim == 1
              and (not len(p.indptr) or (p.indptr[0] == 0 and p.indptr[-1] == len(p.rows))))
        if not ok:
            raise ValueError("lexical postings are inconsistent")
        return postings

    def check(self) -> None:
        """Refuse postings whose entries disagree with the segment (a row outside it, lists out of order): an
        error when the segment is first verified, not a wrong score later. Reads every entry."""
        if not (bool(np.all(np.diff(self.indptr) >= 0))
                and (not len(self.rows) or (int(self.rows.min()) >= 0 and int(self.rows.max()) < len(self)))):
            raise ValueError("lexical postings are inconsistent")


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
        norm_base, norm_length = K1 * (1 - B), K1 * B / self.avg_length
        for part, offset in zip(self.parts, self.offsets):
            ids = np.asarray([terms.setdefault(t, len(terms)) for t in part.terms], dtype=np.int64)
            weight = self.idf(part.terms) if part.terms else np.zeros(0)
            entry_terms = part.entry_terms()
            tf = np.asarray(part.tf, dtype=np.float64)
            local = np.asarray(part.rows, dtype=np.int64)
            tfc = tf / (tf + norm_base + norm_length * np.asarray(part.lengths, dtype=np.float64)[local])
            cols.append(ids[entry_terms] if len(ids) else entry_terms)
            rows.append(local + offset)
            data.append(weight[entry_terms] * tfc if len(weight) else tfc)
        row, col, value = (np.concatenate(a) for a in (rows, cols, data))
        live = self.live[row]
        return csc_matrix((value[live], (row[live], col[live])), shape=(self.size, len(terms))), list(terms)

    def _weights(self, terms: list[str]) -> dict[str, np.float32]:
        unique = list(dict.fromkeys(terms))
        return dict(zip(unique, self.idf(unique).astype(np.float32) * np.float32(1), strict=True))

    def _saturated(self, part: Postings, rows: np.ndarray, tf: np.ndarray, weight: np.float32) -> np.ndarray:
        """A term's BM25 contribution to `rows` of `part` that hold it `tf` times (float32, as `scores` adds it)."""
        norm_base, norm_length = np.float32(K1 * (1 - B)), np.float32(K1 * B / self.avg_length)
        return weight * tf / (tf + norm_base + norm_length * part.lengths[rows])

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

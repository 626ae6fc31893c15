"""What BM25 (`lexical`) reads of a text: its terms (`tokenize`), and each segment's postings.

Each segment of an index keeps its own postings (`Postings`: for every term, the rows that hold it and how
often, as a term-major CSR matrix of numpy arrays, plus each row's length), written once and never changed;
a write that deletes stories records what they added to the collection's statistics (`TermCounts`).
"""
from __future__ import annotations

import functools
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import _bounded_json
from ..corpus import fold_accents
from ._arrays import mapped, save_array

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
        terms = _bounded_json.loads((folder / "terms.json").read_text(encoding="utf-8"))
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

"""BM25 over title and body (bm25s), for names, acronyms and exact phrases that embeddings blur."""
from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..corpus.text import fold_accents

_WORD = re.compile(r"\w+")
# Function words of the two languages people ask in; keeping them would let "the"/"de" decide rankings.
STOPWORDS = frozenset(["a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have", "in", "into", "is", "it", "its", "of", "on", "or", "that", "the", "their", "this", "to", "was", "were", "what", "which", "who", "will", "with", "how", "why", "when", "where", "do", "does", "did", "about", "after", "can", "our", "we", "they", "them", "there", "these", "those", "de", "la", "el", "en", "y", "los", "las", "del", "que", "por", "para", "con", "una", "un", "al", "se", "su", "sus", "como", "lo", "es", "o", "sobre", "entre"])
# Words are cut to their first PREFIX characters ("truncation stemming", McNamee & Mayfield): one rule for
# every language that joins "migrant"/"migration"/"migratoria" and "persons"/"personas" without a
# per-language stemmer or an extra dependency. Measured on the dev set (hybrid, e5): overall nDCG@10 hardly
# moves (uncut 0.958, 7: 0.957, 6: 0.956, 5: 0.957, 4: 0.950), but at 5 Spanish questions gain (0.917 ->
# 0.928; lexical mode alone 0.45 -> 0.69, which is what an English-only model leans on) and so do topic
# questions (multi 0.861 -> 0.911), while paraphrases lose some (semantic 0.977 -> 0.939). A light English
# suffix stripper (plurals, -ing, -ed) gained nothing over uncut words.
PREFIX = 5


def words(text: str) -> list[str]:
    """Lower-case, accent-folded words minus stopwords: "Migración" and "migracion" are one word."""
    return [w for w in _WORD.findall(fold_accents(text)) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


def term(word: str) -> str:
    """The index term of one folded word (digits are kept whole: years and counts are exact)."""
    return word if word.isdigit() else word[:PREFIX]


def tokenize(text: str) -> list[str]:
    """The BM25 terms of a text, in order: folded words cut to their prefix."""
    return [term(w) for w in words(text)]


def _bm25s():
    """bm25s, imported on first use (it pulls scipy) and with its import-time DEBUG logging turned down."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


class LexicalIndex:
    """Rows are the index's story rows, so lexical and dense results speak of the same stories."""

    def __init__(self, retriever: bm25s.BM25, size: int) -> None:  # noqa: F821
        self._bm25 = retriever
        self.size = size
        # Documents per term, from the sparse score matrix (one column per term, one entry per document).
        self._df = np.diff(np.asarray(retriever.scores["indptr"]))

    @classmethod
    def build(cls, texts: list[str]) -> LexicalIndex:
        retriever = _bm25s().BM25()
        # An empty token list would be dropped by bm25s and shift every later row; a placeholder keeps rows aligned.
        retriever.index([tokenize(t) or ["\x00"] for t in texts] or [["\x00"]], show_progress=False)
        return cls(retriever, len(texts))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every row (zeros when no query term is in the vocabulary)."""
        vocab = self._bm25.vocab_dict
        terms = [t for t in tokenize(query) if t in vocab]
        if not terms or not self.size:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(terms), dtype=np.float32)[: self.size]

    def idf(self, terms: list[str]) -> np.ndarray:
        """BM25's idf of each term; a term no story holds gets the highest idf there is (df = 0)."""
        vocab = self._bm25.vocab_dict
        df = np.array([self._df[vocab[t]] if t in vocab else 0 for t in terms], dtype=np.float64)
        return np.log(1.0 + (self.size - df + 0.5) / (df + 0.5))

    def save(self, directory: Path) -> list[str]:
        self._bm25.save(str(directory / "bm25"), show_progress=False)
        return [f"bm25/{p.name}" for p in sorted((directory / "bm25").iterdir())]

    @classmethod
    def load(cls, directory: Path, size: int) -> LexicalIndex:
        return cls(_bm25s().BM25.load(str(directory / "bm25"), mmap=True, show_progress=False), size)

    # --- map hook (collection.atlas reads its topic words from these) ---------------------------------------
    def weights(self) -> tuple[Any, list[str]]:
        """Every story's BM25 weight for every term (a scipy CSC matrix, rows: stories) and the terms by column."""
        from scipy.sparse import csc_matrix

        s = self._bm25.scores
        terms = [""] * (len(s["indptr"]) - 1)
        for t, column in self._bm25.vocab_dict.items():
            if column < len(terms):  # a saved index drops the empty term's column, not its vocabulary entry
                terms[column] = t
        matrix = csc_matrix((np.asarray(s["data"]), np.asarray(s["indices"]), np.asarray(s["indptr"])),
                            shape=(int(s["num_docs"]), len(terms)))
        return matrix[: self.size], terms

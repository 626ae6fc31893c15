""""Nothing in the collection answers this": one decision per question, on evidence that carries to any collection.

A question is answerable when all three hold:

1. it says something: it has a letter or a digit (emoji, punctuation or zero-width marks alone ask nothing);
2. one of its best hits is at least a partial match: calibrated relevance (`relevance.py`) of ANSWERABLE
   or more. The relevance is measured against this collection's own levels, stored in its index, so the
   same threshold holds on fifty migration stories and on thousands of 1987 newswires, where a fixed
   cosine threshold sits in the middle of what unrelated questions score;
3. no name vetoes it: a name the question insists on (a capitalised word, "Norway", "Scargill") that none
   of its best hits holds and that (almost) no story in the collection mentions. Meaning alone can't tell
   "coal miners' strike led by Scargill" from the strikes a collection does cover; the name can. Only for a
   question in the collection's language: a Spanish "Noruega" is not the stories' "Norway". Acronyms are
   not names here (stories may spell them out), and a question with no case (all lower or all upper) has none.

When the decision is no, the shown scores are scaled so the top hit reads just under ANSWERABLE (a "weak
match"), keeping their proportions: the list must not say "strong match" beside "nothing answers this".
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..collection import StoryIndex, tokenize
from ..corpus import has_content
from .ranking import Ranking
from .relevance import ANSWERABLE, displayed, hit_relevance, word_coverage, words_relevance

# A name is rare when at most this share of the stories mention it: a name a big collection mentions only in
# passing a few times still vetoes, one it mentions dozens of times does not; on a small collection it means
# "never mentioned".
RARE_NAME_SHARE = 0.005
NAME_TOP = 10  # best hits searched for the question's names, and read for the decision
VETOED = 0.9 * ANSWERABLE  # the top shown score when the decision is no
_NAME = re.compile(r"\b[^\W\d_][\w'’-]*")


@dataclass(frozen=True)
class Verdict:
    """The decision on one question and what it read, for the first `len(relevance)` entries of its ranking."""

    answerable: bool
    relevance: np.ndarray  # each entry's calibrated relevance
    shown: np.ndarray  # the score each entry shows (non-increasing down the ranking)
    dense_relevance: np.ndarray | None  # the meaning part (None in lexical mode)
    coverage: np.ndarray  # the words part
    unmentioned: tuple[str, ...]  # names the question insists on that no story (almost) mentions


def name_words(question: str) -> list[str]:
    """The capitalised, not all-capital words of a question that has case: the names it insists on."""
    words = _NAME.findall(question)
    if not words or question.upper() == question or question.lower() == question:
        return []
    return [w for w in words if w[0].isupper() and not w.isupper()]


def unmentioned_names(index: StoryIndex, question: str, rows: np.ndarray) -> tuple[str, ...]:
    """The names of `question` whose terms none of `rows` (its best hits) holds and at most RARE_NAME_SHARE
    of the collection's stories mention."""
    named = {t: w for w in name_words(question) for t in tokenize(w)}
    if not named:
        return ()
    terms = list(named)
    absent = ~index.lexical.holding(terms, rows).any(axis=0)
    vetoing = absent & (index.lexical.df(terms) <= RARE_NAME_SHARE * len(index))
    return tuple(dict.fromkeys(named[terms[i]] for i in np.flatnonzero(vetoing)))


def judge(index: StoryIndex, question: str, language: str, ranking: Ranking, window: int, mode: str) -> Verdict:
    """The decision on `question` (in `language`), read from the first NAME_TOP entries of its ranking, with
    the relevance and shown scores of the first `window` (or NAME_TOP, if more).

    The decision reads a fixed number of hits, so asking for more hits or a diversified list never changes
    it; no shown score exceeds the evidence it read, so the top hit shows exactly that evidence."""
    rows = ranking.rows[:max(window, NAME_TOP)]
    coverage = word_coverage(index.lexical, list(dict.fromkeys(tokenize(question))), rows)
    dense = None
    if mode == "lexical":
        relevance = words_relevance(coverage)
    else:
        dense = index.scale.relevance(np.array([w["dense"] for w in ranking.why[:len(rows)]]), language)
        relevance = hit_relevance(dense, coverage)
    evidence = float(relevance[:NAME_TOP].max()) if len(rows) else 0.0
    shown = np.minimum(displayed(relevance), evidence)
    unmentioned = unmentioned_names(index, question, rows[:NAME_TOP]) if language == index.scale.language else ()
    answerable = bool(len(rows)) and has_content(question) and not unmentioned and evidence >= ANSWERABLE
    if not answerable and evidence > VETOED:
        shown = shown * (VETOED / evidence)
    return Verdict(answerable, relevance, shown, dense, coverage, unmentioned)

""""Nothing in the collection answers this": one decision per question, on evidence that carries to any collection.

A question is answerable when all of these hold:

1. it says something: it has a letter or a digit (emoji, punctuation or zero-width marks alone ask nothing);
2. one of its best hits is at least a partial match: calibrated relevance (`relevance.py`) of ANSWERABLE
   or more, measured against this collection's own levels, stored in its index, so the same threshold holds
   on fifty migration stories and on thousands of abstracts. Words of the question that no story mentions
   at all count against it (`UNMENTIONED_PENALTY`): "climate" in a collection that never says it is a
   concept the collection lacks, however well "migration" matches. When every channel (each model that read
   the question, and BM25) puts the same story first, that agreement is evidence too, and a lower bar
   (AGREED) is enough: unrelated questions scatter across the channels, claims about one abstract don't.
   It takes two models and the words (an English question where the index has an English model);
3. no name vetoes it: a name the question insists on (a capitalised word inside a sentence, "Norway",
   "Scargill") that none of its best hits holds and (almost) no story mentions. Meaning alone can't tell a
   coal strike led by Scargill from the strikes a collection does cover; the name can. A sentence's first
   word is capitalised by grammar, so it counts as a name only when it is a place or no story has the word
   at all ("Brexit referendum result"); words with digits or inner capitals ("Sac1", "iPhone") are codes,
   not names. Outside places, a name does not veto a strong match (a gene written like a name, "Eomes",
   that its abstract spells otherwise), while a place ("Norway") always does: a smelter closing in Norway
   is not the one closing in Germany. Only for a question in the collection's language: a Spanish
   "Noruega" is not the stories' "Norway";
4. no year vetoes it: a year the question names that no story mentions ("in 2015" over 1987 newswires).

When the decision is no, the shown scores are scaled so the top hit reads just under ANSWERABLE (a "weak
match"), keeping their proportions: the list must not say "strong match" beside "nothing answers this".
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..collection import StoryIndex, tokenize
from ..corpus import canonical_country, has_content
from ._ranking import MODEL_KEYS, Ranking
from ._relevance import ANSWERABLE, STRONG, displayed, hit_relevance, meaning, word_coverage, words_relevance

# A name is rare when at most this share of the stories mention it: a name a big collection mentions only in
# passing a few times still vetoes, one it mentions dozens of times does not; on a small collection it means
# "never mentioned".
RARE_NAME_SHARE = 0.005
NAME_TOP = 10  # best hits searched for the question's names, and read for the decision
VETOED = 0.9 * ANSWERABLE  # the top shown score when the decision is no
# The bar when every channel puts the same story first.
AGREED = 0.25
# Evidence is scaled down by this share of the idf weight of the question's words that no story mentions.
UNMENTIONED_PENALTY = 0.3
_TOKEN = re.compile(r"[\w'’-]+|[.!?¿¡:;]")
_YEAR = re.compile(r"(1[5-9]|20)\d\d")


@dataclass(frozen=True)
class Verdict:
    """The decision on one question and what it read, for the first `len(relevance)` entries of its ranking."""

    answerable: bool
    relevance: np.ndarray  # each entry's calibrated relevance
    shown: np.ndarray  # the score each entry shows (non-increasing down the ranking)
    dense_relevance: np.ndarray | None  # the meaning part (None in lexical mode)
    coverage: np.ndarray  # the words part
    unmentioned: tuple[str, ...]  # names and years the question insists on that no story (almost) mentions


def name_words(question: str) -> list[tuple[str, bool]]:
    """The capitalised words of a question that has case, each with whether it starts a sentence (where
    grammar capitalises any word); not all capitals (acronyms), no digits or inner capitals (codes)."""
    if question.upper() == question or question.lower() == question:
        return []
    names, start = [], True
    for token in _TOKEN.findall(question):
        if token in ".!?¿¡:;":
            start = True
            continue
        if token[0].isupper() and not any(c.isdigit() or c.isupper() for c in token[1:]):
            names.append((token, start))
        start = False
    return names


def unmentioned(index: StoryIndex, question: str, rows: np.ndarray, evidence: float) -> tuple[str, ...]:
    """The names of `question` that none of `rows` (its best hits) holds and at most RARE_NAME_SHARE of the
    stories mention (a name other than a place only against evidence under STRONG; a sentence's first word
    only if it is a place or no story has it), and its years that no story mentions."""
    found: dict[str, tuple[str, bool]] = {}  # term -> (word as asked, whether any story may have it)
    for word, starts in name_words(question):
        place = canonical_country(word) is not None
        if place or evidence < STRONG:
            found.update({t: (word, not starts or place) for t in tokenize(word)})
    found.update({w: (w, False) for w in _TOKEN.findall(question) if _YEAR.fullmatch(w)})
    terms = list(found)
    if not terms:
        return ()
    df = index.lexical.df(terms)
    absent = ~index.lexical.holding(terms, rows).any(axis=0)
    rare = np.array([df[i] <= RARE_NAME_SHARE * len(index) if found[t][1] else df[i] == 0
                     for i, t in enumerate(terms)], dtype=bool)
    return tuple(dict.fromkeys(found[terms[i]][0] for i in np.flatnonzero(absent & rare)))


def unmentioned_share(index: StoryIndex, terms: list[str]) -> float:
    """The idf-weighted share of `terms` that no story mentions."""
    if not terms:
        return 0.0
    idf = index.lexical.idf(terms)
    return float(idf[index.lexical.df(terms) == 0].sum() / idf.sum()) if idf.sum() > 0 else 0.0


def agreed(ranking: Ranking) -> bool:
    """Whether two models and BM25 read the query and all three rank the same story first (one model and the
    words agree too often by chance: "piano lessons" and a story on training lessons)."""
    lexical_first = next((i for i, w in enumerate(ranking.why) if w.get("lexical_rank") == 1), None)
    models = [key for key in MODEL_KEYS if ranking.why and key in ranking.why[0]]
    if lexical_first is None or len(models) < 2:
        return False
    firsts = {int(np.argmax([w[key] for w in ranking.why])) for key in models}
    return firsts | {lexical_first} == {0}


def judge(index: StoryIndex, question: str, language: str, ranking: Ranking, window: int, mode: str) -> Verdict:
    """The decision on `question` (in `language`), read from the first NAME_TOP entries of its ranking, with
    the relevance and shown scores of the first `window` (or NAME_TOP, if more).

    The decision reads a fixed number of hits, so asking for more hits or a diversified list never changes
    it; no shown score exceeds the evidence it read, so the top hit shows exactly that evidence."""
    rows = ranking.rows[:max(window, NAME_TOP)]
    terms = list(dict.fromkeys(tokenize(question)))
    coverage = word_coverage(index.lexical, terms, rows)
    dense = None
    if mode == "lexical":
        relevance = words_relevance(coverage)
    else:
        models = tuple(m for m, key in enumerate(MODEL_KEYS) if ranking.why and key in ranking.why[0])
        cosines = np.array([[w.get(key, 0.0) for w in ranking.why[:len(rows)]]
                            for key in MODEL_KEYS[:len(index.scale.dims)]])
        dense = meaning(index.scale, cosines, models, language)
        relevance = hit_relevance(dense, coverage)
    same_language = language == index.scale.language
    evidence = float(relevance[:NAME_TOP].max()) if len(rows) else 0.0
    if same_language:
        evidence *= 1.0 - UNMENTIONED_PENALTY * unmentioned_share(index, terms)
    shown = np.minimum(displayed(relevance), evidence)
    missing = unmentioned(index, question, rows[:NAME_TOP], evidence) if same_language else ()
    bar = AGREED if agreed(ranking) else ANSWERABLE
    answerable = bool(len(rows)) and has_content(question) and not missing and evidence >= bar
    if not answerable and evidence > VETOED:
        shown = shown * (VETOED / evidence)
    elif answerable and evidence < ANSWERABLE:  # answered on the channels' agreement: reads as a partial match
        shown = shown * (ANSWERABLE / evidence)
    return Verdict(answerable, relevance, shown, dense, coverage, missing)

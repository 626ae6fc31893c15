"""Merge near-duplicate story copies into one story that remembers every source and title.

Copies of one story differ in small ways (an added word in the title, re-punctuated numbers), so merging
is by similarity: MinHash over word shingles finds candidate pairs in near-linear time (a million stories
never meet pairwise), and the exact Jaccard of each candidate pair decides. An id the source gave is the
source saying "same story"; an id derived from a title is not: two stories can share a title ("Weekly
update"), and they then stay two stories with ids of their own (`distinct_ids`).
"""
from __future__ import annotations

import logging
import re
import zlib
from collections import Counter, defaultdict
from collections.abc import Collection, Container, Iterable, Sequence

import numpy as np

from ._story import Story, derive_id, nth_id
from ._text import fold

SHINGLE = 3
THRESHOLD = 0.5  # Jaccard of word 3-shingles; copies in the seeds score >= 0.68, distinct stories <= 0.1
_BANDS, _ROWS = 32, 2  # 64 hashes: a pair at Jaccard 0.5 becomes a candidate with probability > 0.9999
_PRIME = (1 << 61) - 1
_WORD = re.compile(r"\w+")
log = logging.getLogger(__name__)


def shingles(text: str) -> set[int]:
    words = _WORD.findall(fold(text))
    grams = [" ".join(words[i:i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))]
    return {zlib.crc32(g.encode("utf-8")) for g in grams if g}


def jaccard(a: set[int], b: set[int]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _signatures(sets: Sequence[set[int]]) -> np.ndarray:
    rng = np.random.default_rng(20211130)  # fixed: the same corpus always merges the same way
    a = rng.integers(1, 1 << 31, _BANDS * _ROWS, dtype=np.uint64)
    b = rng.integers(0, 1 << 31, _BANDS * _ROWS, dtype=np.uint64)
    sig = np.empty((len(sets), _BANDS * _ROWS), dtype=np.uint64)
    for i, s in enumerate(sets):
        x = np.fromiter(s, dtype=np.uint64, count=len(s))[:, None] if s else np.zeros((1, 1), np.uint64)
        sig[i] = ((x * a + b) % _PRIME).min(axis=0)
    return sig


def duplicate_groups(stories: Sequence[Story], threshold: float = THRESHOLD) -> list[list[int]]:
    """Indices of `stories` grouped by near-duplication, each group in input order."""
    sets = [shingles(s.text) for s in stories]
    parent = list(range(len(stories)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with_id: dict[str, int] = {}
    for i, s in enumerate(stories):
        if s.id != derive_id(s.title, s.body):  # the source's own id
            parent[i] = first = first_with_id.setdefault(s.id, i)
            if stories[first].text != s.text:
                log.warning("%s and %s share the id %r but not their text: they are kept as one story "
                            "(give them distinct ids to keep both)", _where(stories[first]), _where(s), s.id)
    sig = _signatures(sets)
    for band in range(_BANDS):
        buckets: dict[bytes, list[int]] = defaultdict(list)
        for i, key in enumerate(sig[:, band * _ROWS:(band + 1) * _ROWS]):
            buckets[key.tobytes()].append(i)
        for members in buckets.values():
            for j in members[1:]:
                if root(j) != root(members[0]) and jaccard(sets[members[0]], sets[j]) >= threshold:
                    parent[root(j)] = root(members[0])
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(stories)):
        groups[root(i)].append(i)
    return sorted(groups.values(), key=lambda g: g[0])


def _where(story: Story) -> str:
    return story.sources[0] if story.sources else repr(story.title)


def merge(copies: Sequence[Story]) -> Story:
    """One story from its copies: the title most copies share leads, and nothing any copy knew is lost."""
    counts = Counter(fold(c.title) for c in copies)
    lead = max(copies, key=lambda c: counts[fold(c.title)])  # max keeps the first on ties
    return lead.with_(
        date=lead.date or next((c.date for c in copies if c.date), None),
        place=lead.place or next((c.place for c in copies if c.place), None),
        sources=tuple(dict.fromkeys(src for c in copies for src in c.sources)),
        titles=_distinct_titles(t for c in [lead, *copies] for t in c.titles),
    )


def _distinct_titles(titles: Iterable[str]) -> tuple[str, ...]:
    """Titles in order, dropping any that differ from an earlier one only in case, quotes or spacing."""
    kept: dict[str, str] = {}
    for title in titles:
        kept.setdefault(fold(title), title)
    return tuple(kept.values())


def merge_duplicates(stories: Sequence[Story], threshold: float = THRESHOLD) -> list[Story]:
    return distinct_ids([merge([stories[i] for i in group]) for group in duplicate_groups(stories, threshold)])


def distinct_ids(stories: Sequence[Story]) -> list[Story]:
    """Stories that share a derived id without being copies: the first keeps it, the n-th gets `nth_id`.

    Numbered in corpus order, not by content, so a rebuild gives the same ids and editing one of the
    stories' bodies keeps its id.
    """
    seen: set[str] = set()
    unique = []
    for s in stories:
        story_id, n = s.id, 1
        while story_id in seen:
            n += 1
            story_id = nth_id(s.id, n)
        seen.add(story_id)
        unique.append(s if story_id == s.id else s.with_(id=story_id))
    return unique


def resolve_updates(held: Sequence[Story], incoming: Sequence[Story], own_ids: Collection[str] = (),
                    taken: Container[str] | None = None) -> tuple[list[Story], list[str]]:
    """File `incoming` stories against `held` ones: (stories to write, the id of each incoming story).

    A story whose id is its own (a source's id, or one in `own_ids`: an API client naming the story it
    updates) replaces the held story with that id. Otherwise a copy of a held story updates that story:
    the new text leads, the id stays and every title and source is kept. A story that only shares a
    title with a held one is a new story with the next free `nth_id`, as in a build. Copies within
    `incoming` become one story, under an own id if one of them has it. `held` need only hold the
    candidates (stories that may be copies, and those with the incoming ids); `taken` is every id in use.
    """
    def own(s: Story) -> bool:
        return s.id in own_ids or s.id != derive_id(s.title, s.body)

    def in_use(story_id: str) -> bool:
        return story_id in held_by_id or story_id in added or (taken is not None and story_id in taken)

    held_by_id = {s.id: s for s in held}
    added: set[str] = set()
    filed: list[Story] = []
    id_of: dict[int, str] = {}
    for group in duplicate_groups([*held, *incoming]):
        news = [i - len(held) for i in group if i >= len(held)]
        if not news:
            continue
        copies = [incoming[j] for j in news]
        story = merge(copies)
        given = next((c.id for c in copies if own(c)), None)
        olds = [held[i] for i in group if i < len(held)]
        target = held_by_id.get(given) if given else None
        if target is None and olds:
            target = olds[0]
        if target is not None:
            story = _updated(target, story)
        elif given:
            story = story.with_(id=given)
        elif in_use(story.id):
            n = 2
            while in_use(nth_id(story.id, n)):
                n += 1
            story = story.with_(id=nth_id(story.id, n))
        added.add(story.id)
        filed.append(story)
        id_of.update((j, story.id) for j in news)
    return filed, [id_of[j] for j in range(len(incoming))]


def _updated(old: Story, new: Story) -> Story:
    """`old` with the text of its new copy `new`, remembering everything either knew."""
    return new.with_(
        id=old.id,
        title=new.title or old.title,
        date=new.date or old.date,
        place=new.place or old.place,
        sources=tuple(dict.fromkeys([*new.sources, *old.sources])),
        titles=_distinct_titles([*new.titles, *old.titles]),
    )

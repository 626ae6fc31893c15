"""The `Story` record and the content-derived identifiers that keep API clients' saved ids valid."""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ._text import clean_text, fold


def derive_id(title: str, body: str) -> str:
    """Stable id from the story's title (its body when untitled).

    Derived from the title rather than the whole text so that correcting a typo in a body updates the story
    in place instead of minting a new id that breaks links saved by API clients.
    """
    key = fold(title) or fold(body)[:500]
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def id_problem(story_id: str) -> str | None:
    """Why a story's own id cannot be used, or None when it can.

    An id ending in "/similar" could be stored but never read back: the API reads
    `GET /api/stories/news/similar` as the stories related to "news". So such ids are refused where they
    enter (corpus files and the API) rather than made to depend on which stories exist.
    """
    if story_id.endswith("/similar"):
        return 'ends in "/similar", which the API reads as a request for related stories; rename it'
    return None


def nth_id(story_id: str, n: int) -> str:
    """The id of the n-th (n >= 2) distinct story whose derived id is `story_id` (same title, other text)."""
    return hashlib.sha256(f"{story_id}/{n}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Story:
    id: str
    title: str
    body: str
    date: str | None = None  # ISO yyyy-mm-dd, only when the source states it
    place: str | None = None  # from a dateline, as written
    sources: tuple[str, ...] = ()  # "file:line" of every copy that was merged into this story
    titles: tuple[str, ...] = ()  # every title the story appeared under, this one first
    countries: tuple[str, ...] = field(default=())  # filled by the gazetteer at build time

    @property
    def text(self) -> str:
        """What gets embedded and indexed: the title carries the most signal, so it leads."""
        return f"{self.title}\n{self.body}".strip()

    @property
    def content_hash(self) -> str:
        """Key of the embedding cache: an unchanged text is never embedded twice."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def with_(self, **changes: Any) -> Story:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sources"], d["titles"], d["countries"] = list(self.sources), list(self.titles), list(self.countries)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Story:
        return cls(
            id=d["id"], title=d["title"], body=d["body"], date=d.get("date"), place=d.get("place"),
            sources=tuple(d.get("sources", ())), titles=tuple(d.get("titles", ()) or (d["title"],)),
            countries=tuple(d.get("countries", ())),
        )


def make_story(title: str, body: str, *, id: str | None = None, date: str | None = None,
               place: str | None = None, source: str = "") -> Story:
    title, body = clean_text(title), clean_text(body)
    return Story(
        id=id or derive_id(title, body), title=title, body=body, date=date, place=place,
        sources=(source,) if source else (), titles=(title,) if title else (),
    )

"""What a search returns: hits that carry the story, why it matched, and the passage to show."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..corpus import Story


@dataclass(frozen=True)
class Snippet:
    text: str
    highlights: tuple[tuple[int, int], ...] = ()  # [start, end) character offsets into `text`

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "highlights": [list(h) for h in self.highlights]}


@dataclass(frozen=True)
class Hit:
    story: Story
    score: float
    snippet: Snippet
    why: dict[str, float] = field(default_factory=dict)  # per-channel scores and ranks behind `score`

    def to_dict(self) -> dict[str, Any]:
        s = self.story
        return {"id": s.id, "title": s.title, "score": round(self.score, 6), "date": s.date, "place": s.place,
                "countries": list(s.countries), "snippet": self.snippet.text,
                "highlights": [list(h) for h in self.snippet.highlights],
                "why": {k: round(v, 6) for k, v in self.why.items()}}


@dataclass(frozen=True)
class SearchResult:
    query: str
    hits: list[Hit]
    answerable: bool  # False: no story really answers the question; `hits` are only the nearest stories
    took_ms: float
    mode: str

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "mode": self.mode, "answerable": self.answerable,
                "hits": [h.to_dict() for h in self.hits], "took_ms": round(self.took_ms, 2)}

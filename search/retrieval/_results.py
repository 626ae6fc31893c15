"""What a search returns: hits that carry the story, why it matched, and the passage to show."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..corpus import Story


@dataclass(frozen=True)
class Snippet:
    text: str
    highlights: tuple[tuple[int, int], ...] = ()  # [start, end) character offsets into `text`


@dataclass(frozen=True)
class Hit:
    story: Story
    # Calibrated relevance, 0 to 1, comparable across questions and collections (`relevance.py`): to the
    # question, or for a related story to the story's title asked as a question.
    score: float
    snippet: Snippet
    why: dict[str, float] = field(default_factory=dict)  # the channels' scores and ranks behind `score`
    match: str | None = None  # the score in words: "strong", "partial" or "weak"


@dataclass(frozen=True)
class SearchResult:
    query: str
    hits: list[Hit]
    answerable: bool  # False: no story really answers the question; `hits` are only the nearest stories
    took_ms: float
    mode: str
    truncated: bool = False  # the question was longer than the model reads: `query` is the part searched
    unmentioned: tuple[str, ...] = ()  # names the question insists on that no story mentions: why nothing answers

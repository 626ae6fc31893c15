"""A saved segment's stories, read one at a time from the file instead of held in memory.

`stories.jsonl` keeps one JSON object a line, as always; `story_offsets.npy` beside it keeps where each line
starts, so story `row` is one slice of the memory-mapped file and one `json.loads`. The file is mapped
read-only and shared by every process through the page cache: a process holds no copy of the texts, and
opening a segment reads none of them. The stories read most recently stay parsed (a search reads its hits
again for snippets, related stories read the same candidates twice), a bounded number.

An index written before the offsets file existed has its offsets found by one scan of the file for line ends.
"""
from __future__ import annotations

import functools
import json
import mmap
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import overload

import numpy as np

from .. import _bounded_json
from ..corpus import Story

OFFSETS = "story_offsets.npy"
PARSED = 4096  # stories kept parsed per segment: a few searches' candidates, a few MB


def story_line(story: Story) -> bytes:
    """A story as its line of the file."""
    return (json.dumps(story.to_dict(), ensure_ascii=False) + "\n").encode("utf-8")


def write_stories(path: Path, stories: Sequence[Story]) -> np.ndarray:
    """Write `stories` to `path`, one JSON object a line; returns each line's start and the file's end."""
    offsets = np.zeros(len(stories) + 1, dtype=np.int64)
    with path.open("wb") as f:
        for row, story in enumerate(stories):
            line = story_line(story)
            f.write(line)
            offsets[row + 1] = offsets[row] + len(line)
    return offsets


class StoriesOnDemand(Sequence[Story]):
    """Stories read one at a time when asked for by position, never copied out all at once: a subclass says
    how many there are and how to read the one at a position."""

    def _read(self, position: int) -> Story:
        raise NotImplementedError

    @overload
    def __getitem__(self, i: int) -> Story: ...
    @overload
    def __getitem__(self, i: slice) -> list[Story]: ...

    def __getitem__(self, i: int | slice) -> Story | list[Story]:
        if isinstance(i, slice):
            return [self._read(p) for p in range(*i.indices(len(self)))]
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        return self._read(i % len(self))


class StoryFile(StoriesOnDemand):
    """The stories of a saved segment, parsed on demand from the memory-mapped file."""

    def __init__(self, path: Path, offsets: np.ndarray | None = None) -> None:
        """`offsets`: each line's start and the file's end (found by scanning the file when not given)."""
        with path.open("rb") as f:
            size = f.seek(0, 2)
            self._data: mmap.mmap | bytes = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        if offsets is None:
            ends = np.flatnonzero(np.frombuffer(self._data, dtype=np.uint8) == ord("\n")) + 1 if size \
                else np.zeros(0, dtype=np.int64)
            offsets = np.concatenate([[0], ends]).astype(np.int64)
        if offsets.ndim != 1 or not len(offsets) or offsets[0] != 0 or offsets[-1] != size:
            raise ValueError(f"{path.name}: the story offsets do not match the file")
        self._offsets = offsets
        self.story = functools.lru_cache(maxsize=PARSED)(self._parse)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def _read(self, position: int) -> Story:
        return self.story(position)

    def __iter__(self) -> Iterator[Story]:
        return (self._parse(r) for r in range(len(self)))  # a pass over everything: keep the parsed ones out

    def _parse(self, row: int) -> Story:
        start, end = int(self._offsets[row]), int(self._offsets[row + 1])
        return Story.from_dict(_bounded_json.loads(self._data[start:end]))

    def line(self, row: int) -> bytes:
        """Story `row` as its saved JSON line, newline included: copied as it is when segments merge."""
        return bytes(self._data[int(self._offsets[row]):int(self._offsets[row + 1])])

    def check(self) -> None:
        """Parse every story once (a segment is verified when first opened): a line that is not a story raises
        ValueError, KeyError or TypeError."""
        for row in range(len(self)):
            self._parse(row)

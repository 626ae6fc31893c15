"""Per-story metadata as arrays, so a filter costs a few vector operations.

Each segment builds its own `Columns` once; a collection joins its segments' (`Columns.join`), which is array
concatenation, not a pass over the stories. Countries are an inverted index (folded name -> sorted rows): a
country filter touches only the rows of the countries asked for, not every story.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ..corpus import Story, fold


class Columns:
    def __init__(self, dates: np.ndarray, country_rows: dict[str, np.ndarray], country_names: dict[str, str],
                 live: np.ndarray | None = None) -> None:
        self.dates, self.country_rows, self._names = dates, country_rows, country_names
        self.size = len(dates)
        self.live = np.ones(self.size, dtype=bool) if live is None else live  # rows no write has deleted

    @classmethod
    def of(cls, stories: Sequence[Story]) -> Columns:
        # Days, not strings: comparing a million dates is several times faster; undated is NaT, which no
        # range comparison matches, so an undated story can't be shown to fall inside a date range.
        dates = np.array([s.date or "NaT" for s in stories], dtype="datetime64[D]")
        rows: dict[str, list[int]] = {}
        names: dict[str, str] = {}
        for row, s in enumerate(stories):
            for c in s.countries:
                rows.setdefault(fold(c), []).append(row)
                names.setdefault(fold(c), c)
        return cls(dates, {key: np.array(r, dtype=np.int64) for key, r in rows.items()}, names)

    @classmethod
    def join(cls, parts: Sequence[Columns], offsets: np.ndarray, live: np.ndarray) -> Columns:
        """One collection's columns from its segments' (rows numbered segment after segment)."""
        rows: dict[str, list[np.ndarray]] = {}
        names: dict[str, str] = {}
        for part, offset in zip(parts, offsets):
            for key, found in part.country_rows.items():
                rows.setdefault(key, []).append(found + offset)
            for key, name in part._names.items():
                names.setdefault(key, name)
        dates = np.concatenate([p.dates for p in parts]) if parts else np.zeros(0, dtype="datetime64[D]")
        return cls(dates, {key: np.concatenate(r) for key, r in rows.items()}, names, live)

    @property
    def country_names(self) -> list[str]:
        """The countries some live story is about, by their gazetteer names."""
        return sorted(self._names[key] for key, rows in self.country_rows.items() if self.live[rows].any())

    def dated_between(self, date_from: str | None, date_to: str | None) -> np.ndarray:
        """Mask of the stories dated within [date_from, date_to] (ISO days; None leaves that end open)."""
        mask = np.ones(self.size, dtype=bool)
        if date_from:
            mask &= self.dates >= np.datetime64(date_from, "D")
        if date_to:
            mask &= self.dates <= np.datetime64(date_to, "D")
        return mask

    def about(self, countries: Iterable[str]) -> np.ndarray:
        """Mask of the stories about any of `countries` (the gazetteer's names)."""
        mask = np.zeros(self.size, dtype=bool)
        for key in {fold(c) for c in countries} & self.country_rows.keys():
            mask[self.country_rows[key]] = True
        return mask

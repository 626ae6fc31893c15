"""Per-story metadata as arrays, built once per index, so a filter costs a few vector operations.

Countries are an inverted index (folded name -> sorted rows): a country filter touches only the rows of
the countries asked for, not every story.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ..corpus import Story, fold


class Columns:
    def __init__(self, stories: Sequence[Story]) -> None:
        self.size = len(stories)
        # Days, not strings: comparing a million dates is several times faster; undated is NaT, which no
        # range comparison matches, so an undated story can't be shown to fall inside a date range.
        self.dates = np.array([s.date or "NaT" for s in stories], dtype="datetime64[D]")
        rows: dict[str, list[int]] = {}
        names: dict[str, str] = {}
        for row, s in enumerate(stories):
            for c in s.countries:
                rows.setdefault(fold(c), []).append(row)
                names.setdefault(fold(c), c)
        self.country_rows = {key: np.array(r, dtype=np.int64) for key, r in rows.items()}
        self.country_names = sorted(names.values())

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

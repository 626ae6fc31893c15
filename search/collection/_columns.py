"""Per-story metadata as arrays, so a filter costs a few vector operations.

Each segment builds its own `Columns` once and saves them with its other arrays (`save`; opened
memory-mapped by `load`, so opening a segment reads no story); a collection joins its segments'
(`Columns.join`), which is array concatenation, not a pass over the stories. Countries are an inverted index
(folded name -> sorted rows): a country filter touches only the rows of the countries asked for, not every
story.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ..corpus import Story, fold
from ._arrays import mapped, save_array

DATES, COUNTRY_ROWS, COUNTRY_STARTS, COUNTRIES = "dates", "country_rows", "country_starts", "countries.json"
FILES = (f"{DATES}.npy", f"{COUNTRY_ROWS}.npy", f"{COUNTRY_STARTS}.npy", COUNTRIES)


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

    def save(self, folder: Path) -> list[str]:
        """Write the columns into a segment's folder (dates, and countries as rows per country); the file names."""
        keys = list(self.country_rows)
        rows = [self.country_rows[k] for k in keys]
        starts = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64)
        (folder / COUNTRIES).write_text(json.dumps([[k, self._names[k]] for k in keys], ensure_ascii=False),
                                        encoding="utf-8")
        return [save_array(folder, DATES, self.dates.astype("datetime64[D]")),
                save_array(folder, COUNTRY_ROWS, np.concatenate(rows).astype(np.int64) if rows
                           else np.zeros(0, dtype=np.int64)),
                save_array(folder, COUNTRY_STARTS, starts), COUNTRIES]

    @classmethod
    def load(cls, folder: Path, size: int) -> Columns:
        """The columns `save` wrote for a segment of `size` rows, memory-mapped; files that disagree with each
        other or the size raise ValueError."""
        dates, rows, starts = (mapped(folder / f"{name}.npy") for name in (DATES, COUNTRY_ROWS, COUNTRY_STARTS))
        countries = json.loads((folder / COUNTRIES).read_text(encoding="utf-8"))
        ok = (dates.dtype == np.dtype("datetime64[D]") and dates.shape == (size,) and rows.dtype == np.int64
              and rows.ndim == 1 and starts.dtype == np.int64 and starts.shape == (len(countries) + 1,)
              and isinstance(countries, list) and all(isinstance(c, list) and len(c) == 2
                                                      and all(isinstance(x, str) for x in c) for c in countries)
              and starts[0] == 0 and starts[-1] == len(rows))
        if not ok:
            raise ValueError("the metadata columns are inconsistent")
        return cls(dates, {key: rows[starts[i]:starts[i + 1]] for i, (key, _) in enumerate(countries)},
                   dict(countries))

    def check(self) -> None:
        """Every country's rows inside the segment and ascending (checked when a segment is first verified)."""
        for found in self.country_rows.values():
            if len(found) and (found.min() < 0 or found.max() >= self.size or np.any(np.diff(found) <= 0)):
                raise ValueError("the metadata columns name rows outside the segment")

    @classmethod
    def join(cls, parts: Sequence[Columns], offsets: np.ndarray, live: np.ndarray) -> Columns:
        """One collection's columns from its segments' (rows numbered segment after segment)."""
        if len(parts) == 1:  # one segment: its own arrays, not a copy of them
            return cls(parts[0].dates, parts[0].country_rows, parts[0]._names, live)
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

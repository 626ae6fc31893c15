"""Metadata filters (country, date range), turned into the set of rows a search may return.

Filtering happens before the top k is taken (the rows go to the vector engine and the lexical scorer as
an allow-list), so a narrow filter never empties a result list that has matching stories further down.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from ._errors import InvalidQueryError
from .places import canonical_country
from .story import Story, fold


@dataclass(frozen=True)
class Filters:
    countries: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None

    def __post_init__(self) -> None:
        # A misspelt country must not look like "no story matches": every country a story can be about
        # comes from the gazetteer, so a name it doesn't know is refused. Empty values (blank form fields)
        # mean no country.
        given = (self.countries,) if isinstance(self.countries, str) else tuple(self.countries)
        canonical = {c.strip(): canonical_country(c) for c in given if c and c.strip()}
        unknown = next((name for name, country in canonical.items() if country is None), None)
        if unknown:
            raise InvalidQueryError(f"unknown country {unknown!r}: name a country of the region in English or "
                                    f"Spanish, e.g. Panama, Panamá, Dominican Republic")
        object.__setattr__(self, "countries", tuple(dict.fromkeys(canonical.values())))
        for name in ("date_from", "date_to"):
            value = getattr(self, name)
            if value:
                try:  # normalised: Python also reads "20210501" and "2021-W18-6" as dates
                    object.__setattr__(self, name, date.fromisoformat(value).isoformat())
                except ValueError:
                    raise InvalidQueryError(f"{name} must be a date as YYYY-MM-DD, got {value!r}") from None
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise InvalidQueryError(f"date_from {self.date_from} is after date_to {self.date_to}")

    @property
    def active(self) -> bool:
        return bool(self.countries or self.date_from or self.date_to)


class FilterColumns:
    """Per-row metadata as arrays, built once per index so a filter costs a few vector operations.

    Countries are an inverted index (folded name -> sorted rows), so a country filter touches only the rows
    of the countries asked for, not every story.
    """

    def __init__(self, stories: list[Story]) -> None:
        self.size = len(stories)
        # Days, not strings: comparing a million dates takes ~5 ms instead of ~25; undated is NaT, which no
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

    def allowed_rows(self, filters: Filters) -> np.ndarray | None:
        if not filters.active:
            return None
        mask = np.ones(self.size, dtype=bool)
        if filters.date_from:
            mask &= self.dates >= np.datetime64(filters.date_from, "D")
        if filters.date_to:
            mask &= self.dates <= np.datetime64(filters.date_to, "D")
        if filters.countries:
            wanted = {fold(c) for c in filters.countries}
            about = np.zeros(self.size, dtype=bool)
            for key in wanted & self.country_rows.keys():
                about[self.country_rows[key]] = True
            mask &= about
        return np.flatnonzero(mask)

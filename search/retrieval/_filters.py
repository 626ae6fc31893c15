"""Metadata filters (country, date range), turned into the set of rows a search may return.

Filtering happens before the top k is taken (the rows go to the vector engine and the lexical scorer as
an allow-list), so a narrow filter never empties a result list that has matching stories further down.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from ..collection import Columns
from ..corpus import canonical_country
from ..errors import InvalidQueryError


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
            raise InvalidQueryError(f"unknown country {unknown!r}: name a country in English or Spanish, "
                                    f"e.g. Japan, Japón, Dominican Republic")
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

    def undated_left_out(self, columns: Columns) -> int:
        """How many stories a date bound leaves out only for having no date (those the other filters let in)."""
        if not (self.date_from or self.date_to):
            return 0
        undated = np.isnat(columns.dates) & columns.live
        if self.countries:
            undated &= columns.about(self.countries)
        return int(undated.sum())

    def allowed_rows(self, columns: Columns) -> np.ndarray | None:
        """The rows these filters let through (None: every row, no filter is set)."""
        if not self.active:
            return None
        mask = columns.dated_between(self.date_from, self.date_to) & columns.live
        if self.countries:
            mask &= columns.about(self.countries)
        return np.flatnonzero(mask)

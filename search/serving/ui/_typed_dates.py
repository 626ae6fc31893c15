"""Dates as people type them into a filter box, read into the day a filter applies, or refused with a reason.

A box that quietly keeps its last value, or sends nothing, when it can't read what was typed filters by a
date nobody sees. So every form people commonly type is read ("1 Dec 2021", "Dec 1, 2021", "2021-12-01",
"01/12/2021", "1 dic 2021", "diciembre de 2021"), a month or a year stands for its first day in a "from"
box and its last in a "to" box, and anything else is a `TypedDateError` saying why; the reading is then shown
back in the box (`shown`), so what is applied is what is on screen.
"""
from __future__ import annotations

import calendar
import re
from datetime import date

from ...corpus import fold_accents

_MONTH_NAMES = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
           "noviembre", "diciembre"),
}
_SHORT = {"en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
          "es": ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic")}
# Folded (lower-case, no accents) month names and abbreviations of both languages -> month number.
_MONTHS = {fold_accents(name): no for names in (*_MONTH_NAMES.values(), *_SHORT.values())
           for no, name in enumerate(names, 1)} | {"sep": 9, "set": 9, "setiembre": 9}
_WORDS = re.compile(r"[^\W\d_]+|\d+")
_NUMERIC = re.compile(r"^(\d{1,4})[-/.](\d{1,2})(?:[-/.](\d{1,4}))?$")


class TypedDateError(ValueError):
    """What was typed is not a date that can be applied: `reason` is "unreadable" or "not_a_day"."""

    def __init__(self, reason: str, typed: str) -> None:
        super().__init__(f"{typed!r}: {reason}")
        self.reason, self.typed = reason, typed


def read_day(typed: str | None, *, end: bool = False, month_first: bool = False) -> str | None:
    """The ISO day a typed date applies as (None when the box is empty).

    A month or a year alone is its first day, or its last with `end` (a "to" box). All-number dates are read
    day first (1/12/2021 is 1 December) unless `month_first` (a US English browser); a number over 12 settles
    which is which either way. Two-digit years are 19xx from 70 on, else 20xx.
    """
    text = (typed or "").strip()
    if not text:
        return None
    parts = _parts(text, month_first)
    if parts is None:
        raise TypedDateError("unreadable", text)
    year, month, day = parts
    try:
        if month is None:
            return date(year, 12 if end else 1, 31 if end else 1).isoformat()
        last = calendar.monthrange(year, month)[1]
        return date(year, month, day if day is not None else (last if end else 1)).isoformat()
    except ValueError:
        raise TypedDateError("not_a_day", text) from None


def shown(iso: str | None, language: str = "en") -> str:
    """How the page writes a day back into its box: "1 Dec 2021", "1 dic 2021" (which `read_day` reads back)."""
    if not iso:
        return ""
    day = date.fromisoformat(iso)
    return f"{day.day} {_SHORT.get(language, _SHORT['en'])[day.month - 1]} {day.year}"


def _year(digits: str) -> int | None:
    if len(digits) == 4:
        return int(digits)
    if len(digits) == 2:
        return int(digits) + (1900 if int(digits) >= 70 else 2000)
    return None


def _parts(text: str, month_first: bool) -> tuple[int, int | None, int | None] | None:
    """(year, month or None, day or None) of a typed date, or None when it is not one."""
    numeric = _NUMERIC.match(text.replace(" ", ""))
    if numeric:
        return _numeric(*numeric.groups(), month_first=month_first)
    tokens = [t for t in _WORDS.findall(fold_accents(text)) if t not in ("de", "del", "of", "the")]
    months = [_MONTHS[t] for t in tokens if t in _MONTHS]
    numbers = [t for t in tokens if t.isdigit()]
    words = [t for t in tokens if not t.isdigit() and t not in _MONTHS and t not in ("st", "nd", "rd", "th")]
    if words or len(months) > 1 or not numbers or len(numbers) > 2:
        return None
    if not months:  # a year alone
        year = _year(numbers[0]) if len(numbers) == 1 and len(numbers[0]) == 4 else None
        return (year, None, None) if year else None
    years = [n for n in numbers if len(n) == 4]
    days = [n for n in numbers if len(n) <= 2]
    if len(years) != 1 or len(days) > 1:
        return None
    return int(years[0]), months[0], int(days[0]) if days else None


def _numeric(first: str, second: str, third: str | None, *,
             month_first: bool) -> tuple[int, int | None, int | None] | None:
    if third is None:  # "2021-11" or "11/2021": a month
        if len(first) == 4:
            return int(first), int(second), None
        year = _year(second) if len(second) == 4 else None
        return (year, int(first), None) if year else None
    if len(first) == 4:  # year first: always year-month-day
        return int(first), int(second), int(third)
    year = _year(third)
    if year is None:
        return None
    a, b = int(first), int(second)
    if month_first and a <= 12 or b > 12:
        return year, a, b
    return year, b, a

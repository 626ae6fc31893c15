"""Dates and datelines as news stories write them ("30 November, 2021", "Georgetown, Guyana 23 August 2021:")."""
from __future__ import annotations

import re
from datetime import date, datetime

from ._places import canonical_country

_MONTHS = {
    **{m: i for i, m in enumerate(("january", "february", "march", "april", "may", "june", "july", "august",
                                   "september", "october", "november", "december"), 1)},
    **{m: i for i, m in enumerate(("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
                                   "septiembre", "octubre", "noviembre", "diciembre"), 1)},
    **{m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                   "nov", "dec"), 1)},
    "sept": 9, "setiembre": 9,
}
_MONTH = "(?P<m>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY_FIRST = re.compile(rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s*(?:de\s+)?{_MONTH}\s*,?\s*(?:de\s+|del\s+)?"
                        r"(?P<y>\d{4})\b", re.I)
_MONTH_FIRST = re.compile(rf"\b{_MONTH}\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s*,?\s*(?P<y>\d{{4}})\b", re.I)
_ISO = re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b")
_WEEKDAY = re.compile(r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b,?", re.I)
# A dateline opening a body: "Georgetown, Guyana, 13 August 2020 - More research ..." (place and/or date, a dash)
_LEAD = re.compile(r"^(?P<head>[A-Z][^.!?:;\-\u2013\u2014]{1,80}?)\s*[-\u2013\u2014]+\s+(?=\S)")
# Between a dateline's parts; "Port-au-Prince" keeps its hyphens.
_SEPARATOR = re.compile(r"[,\u2013\u2014]|\s-(?:\s|$)")
_PLACE_WORDS = re.compile(r"^(?:[A-Z\u00C0-\u00DD][\w\u00C0-\u024F'.-]*\s?){1,4}$")


def _match(text: str) -> re.Match[str] | None:
    return _ISO.search(text) or _DAY_FIRST.search(text) or _MONTH_FIRST.search(text)


def _iso(m: re.Match[str]) -> str | None:
    month = m.group("m")
    month_no = int(month) if month.isdigit() else _MONTHS[month.lower().rstrip(".")]
    try:
        return date(int(m.group("y")), month_no, int(m.group("d"))).isoformat()
    except ValueError:
        return None


def parse_date(value: str | None) -> str | None:
    """ISO date of a free-form date string, or None when it names no full date."""
    if not value:
        return None
    value = str(value).strip()
    m = _match(value)
    if m:
        return _iso(m)
    for fmt in ("%d-%b-%Y %H:%M:%S.%f", "%d-%b-%Y", "%Y/%m/%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def _place(text: str) -> str | None:
    """The place a dateline names before its date ("Georgetown, Guyana"): "" when none, None when `text` is no place.

    Capitalised words alone are not enough, or titles and opening phrases would be taken for datelines
    ("Weekly Update May 5, 2021", "The Director General - said"). A place is "City, Country", a name the
    gazetteer knows ("San José", "PANAMA CITY"), or any name set off from the date that follows it by a
    comma or a dash ("GENEVA, 12 March 2021", "Tegucigalpa – 3 June 2021").
    """
    text = _WEEKDAY.sub("", text)
    set_off = bool(re.search(r"[,\u2013\u2014]\s*$|\s-\s*$", text))
    parts = [p.strip(" :") for p in _SEPARATOR.split(text)]
    parts = [p for p in parts if p]
    if not all(_PLACE_WORDS.match(p) and not _MONTHS.get(p.lower()) for p in parts):
        return None
    if len(parts) == 1 and not (set_off or canonical_country(parts[0])):
        return None
    return ", ".join(parts)


def _ends_with_date(text: str, m: re.Match[str]) -> bool:
    """A dateline closes with its date; only punctuation or a weekday may follow it."""
    return not re.search(r"\w", _WEEKDAY.sub("", text[m.end():]))


def parse_date_line(line: str) -> tuple[str | None, str | None] | None:
    """(date, place) when the whole line is a date or a "Place, Date" dateline, else None."""
    if len(line) > 80 or line.rstrip().endswith((".", "!", "?")):
        return None
    m = _match(line)
    if not m or not _ends_with_date(line, m):
        return None
    place = _place(line[: m.start()])
    if place is None:
        return None
    return _iso(m), place or None


def split_lead_dateline(body: str) -> tuple[str | None, str | None, str]:
    """(date, place, body) with a leading "Place, Date - " dateline taken off the body when there is one."""
    lead = _LEAD.match(body)
    if not lead:
        return None, None, body
    head = lead.group("head")
    m = _match(head)
    if m and not _ends_with_date(head, m):
        return None, None, body
    iso = _iso(m) if m else None
    place_part = head[: m.start()] if m else head
    # A month-and-day without a year ("August 27, Georgetown") is a date we can't state: keep the place only.
    place_part = re.sub(rf"\b{_MONTH}\s+\d{{1,2}}\b", "", place_part, flags=re.I)
    place = _place(place_part)
    if place is None or not (iso or place):
        return None, None, body
    return iso, place or None, body[lead.end():]

"""The world's countries by the names people write, in English and Spanish: which countries a story is about,
and the names the country filter accepts and shows.

Names come from CLDR (through Babel), the Unicode consortium's maintained locale data, which names each
country as people commonly do ("Russia", "South Korea", "Siria", "Corea del Sur"), in both languages the page
speaks; a few variants it lacks are added here ("USA", "Britain", "Ivory Coast"), and the region the shipped
stories come from keeps its own extra places (capitals, departments, demonyms: "Darién", "Salvadoreño").

A story is about the countries its dateline names and those its title or body mentions. A name counts only
as a proper noun (capitalised as written: "turkey" and "china" are not countries), and the names that are
also people's names, states or words ("Chad", "Jordan", "Georgia", "Turkey", "Niger", "Guinea") count only
where they stand alone, not inside a longer capitalised name ("Michael Jordan", "Lake Chad", "Georgia Gulf
Corp"); names of places that merely contain a country's ("New Mexico", "Gulf of Mexico") are not it.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ._story import Story
from ._text import fold_accents

# CLDR territories that are no country a story is about (unions, pseudo-locales, parts listed apart).
_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ", "AC", "CP", "DG", "EA", "IC", "TA", "CQ"})
# Where CLDR's display name is a disambiguated form ("Congo - Kinshasa", "Hong Kong SAR China"), the name news
# uses, in English and Spanish.
_RENAMED = {
    "CD": ("Democratic Republic of the Congo", "República Democrática del Congo"),
    "CG": ("Republic of the Congo", "República del Congo"),
    "CI": ("Côte d'Ivoire", "Costa de Marfil"),
    "HK": ("Hong Kong", "Hong Kong"),
    "MO": ("Macao", "Macao"),
    "PS": ("Palestine", "Palestina"),
    "VC": ("Saint Vincent and the Grenadines", "San Vicente y las Granadinas"),
}
# Common names CLDR doesn't list (older, shorter or abbreviated ones), by country code.
_VARIANTS = {
    "US": ("United States of America", "USA", "U.S.", "U.S.A.", "EEUU", "EE.UU.", "EE. UU.",
           "Estados Unidos de América"),
    "GB": ("UK", "U.K.", "Britain", "Great Britain", "Gran Bretaña"),
    "CD": ("DR Congo", "DRC", "Congo-Kinshasa", "RD Congo"),
    "CG": ("Congo", "Congo-Brazzaville"),
    "CI": ("Ivory Coast", "Cote d'Ivoire"),
    "MM": ("Burma", "Birmania"),
    "MO": ("Macau",),
    "PS": ("Palestinian Territories", "Territorios Palestinos"),
    "TR": ("Turkey", "Turquía"),
    "CZ": ("Czech Republic", "República Checa"),
    "NL": ("Holland", "Holanda"),
    "SZ": ("Swaziland", "Suazilandia"),
    "MK": ("Macedonia",),
    "CV": ("Cabo Verde",),
    "TL": ("East Timor", "Timor Oriental"),
    "VA": ("Holy See", "Vatican", "Vaticano", "Santa Sede"),
    "KR": ("Republic of Korea",),
    "KP": ("DPRK",),
    "RU": ("Russian Federation", "Federación Rusa"),
    "GM": ("The Gambia",),
    "GS": ("South Georgia",),
    "AE": ("UAE", "U.A.E.", "Emiratos Árabes Unidos"),
}
# The region of the shipped stories: capitals, departments, demonyms and older spellings, by country name.
REGION_PLACES: dict[str, tuple[str, ...]] = {
    "Antigua and Barbuda": ("St. John's",),
    "Argentina": ("Buenos Aires", "Argentine"),
    "Bahamas": ("The Bahamas", "Las Bahamas", "Nassau", "Bahamian"),
    "Barbados": ("Bridgetown", "Barbadian"),
    "Belize": ("Belmopan", "Belizean", "Beliceño"),
    "Bolivia": ("La Paz", "Bolivian", "Boliviano"),
    "Brazil": ("Brasilia", "Brazilian"),
    "Canada": ("Ottawa", "Canadian"),
    "Chile": ("Santiago de Chile", "Chilean", "Chileno"),
    "Colombia": ("Bogota", "Bogotá", "Colombian", "Colombiano"),
    "Costa Rica": ("San José", "San Jose", "Costa Rican", "Costarricense"),
    "Cuba": ("Havana", "La Habana", "Cuban", "Cubano"),
    "Dominica": ("Roseau",),
    "Dominican Republic": ("Republica Dominicana", "Santo Domingo"),
    "Ecuador": ("Quito", "Ecuadorian", "Ecuatoriano"),
    "El Salvador": ("San Salvador", "Salvadoran", "Salvadorean", "Salvadoreño"),
    "Grenada": ("Granada", "St. George's"),
    "Guatemala": ("Guatemala City", "Ciudad de Guatemala", "Guatemalan", "Guatemalteco"),
    "Guyana": ("Georgetown", "Guyanese", "Guyanés"),
    "Haiti": ("Port-au-Prince", "Haitian", "Haitiano"),
    "Honduras": ("Tegucigalpa", "Honduran", "Hondureño"),
    "Jamaica": ("Kingston", "Jamaican", "Jamaicano"),
    "Mexico": ("Mexico City", "Ciudad de México", "Mexican", "Mexicano"),
    "Nicaragua": ("Managua", "Nicaraguan", "Nicaragüense"),
    "Panama": ("Panama City", "Panamanian", "Panameño", "Darien", "Darién"),
    "Paraguay": ("Asunción", "Paraguayan"),
    "Peru": ("Lima", "Peruvian", "Peruano"),
    "Saint Kitts and Nevis": ("St. Kitts and Nevis", "Basseterre"),
    "Saint Lucia": ("Castries",),
    "Saint Vincent and the Grenadines": ("St. Vincent and the Grenadines", "Kingstown"),
    "Suriname": ("Paramaribo", "Surinamese"),
    "Trinidad and Tobago": ("Port of Spain", "Trinidadian"),
    "United States": ("Washington",),
    "Uruguay": ("Montevideo", "Uruguayan"),
    "Venezuela": ("Caracas", "Venezuelan", "Venezolano"),
}
# Also people's names, US states or everyday words: a country only where no capitalised word stands beside it.
AMBIGUOUS = frozenset(fold_accents(n) for n in (
    "Chad", "Jordan", "Georgia", "Jersey", "Guernsey", "Turkey", "Guinea", "Niger", "China", "Chile", "Bermuda",
    "Israel", "Reunion", "Réunion", "Man", "Granada", "Lima", "Washington", "Kingston", "Georgetown", "Macedonia",
    "Congo", "Dominica", "Vatican", "Britain"))
# Also a US state's name: the country only in a text that also speaks of it as one.
CONFIRMED_BY = {"Georgia": ("Tbilisi", "Georgian", "Caucasus", "Soviet", "Tiflis", "Georgiano")}
# Longer names holding a country's that are about somewhere else.
NOT_THE_COUNTRY = ("New Mexico", "New Jersey", "Gulf of Mexico", "Golfo de México", "New Guinea", "Lake Chad",
                   "Washington State", "Washington Post", "Georgia Gulf")
# Upper-case abbreviations must stay upper-case: "us" and "usa" inside ordinary text are not the country.
_CASE_SENSITIVE = frozenset(fold_accents(a) for a in ("USA", "U.S.", "U.S.A.", "UK", "U.K.", "EEUU", "EE.UU.",
                                                      "EE. UU.", "DRC", "DPRK", "UAE", "U.A.E."))


def _tidy(name: str, language: str) -> tuple[str, ...]:
    """A CLDR display name as written in text: the name, and the aside in brackets as a name of its own."""
    name = name.replace("’", "'")
    bracketed = re.match(r"^(.*?) \((.*)\)$", name)
    names = [bracketed.group(1), bracketed.group(2)] if bracketed else [name]
    if language == "en":
        names = [re.sub(r"^St\. ", "Saint ", n.replace(" & ", " and ")) for n in names] + names
    return tuple(dict.fromkeys(names))


def _world() -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """(country -> its Spanish name, country -> every name it goes by), countries by their English names."""
    from babel import Locale

    english, spanish = Locale("en").territories, Locale("es").territories
    spanish_of: dict[str, str] = {}
    names: dict[str, tuple[str, ...]] = {}
    for code in sorted(english):
        if not re.fullmatch(r"[A-Z]{2}", code) or code in _NOT_COUNTRIES:
            continue
        if code in _RENAMED:  # CLDR's forms of these are no names anyone writes ("Congo - Kinshasa")
            country, in_spanish = _RENAMED[code]
            en: tuple[str, ...] = (country,)
            es: tuple[str, ...] = (in_spanish,)
        else:
            en, es = _tidy(english[code], "en"), _tidy(spanish.get(code, english[code]), "es")
            country, in_spanish = en[0], es[0]
        spanish_of[country] = in_spanish
        names[country] = tuple(dict.fromkeys((country, in_spanish, *en, *es, *_VARIANTS.get(code, ()),
                                              *REGION_PLACES.get(country, ()))))
    return spanish_of, names


SPANISH_NAMES, COUNTRIES = _world()


def local_name(country: str, language: str) -> str:
    """The country as a reader of `language` ("en" or "es") names it."""
    return SPANISH_NAMES.get(country, country) if language == "es" else country


def _fold(text: str) -> str:
    """Matching key: accents and case folded, the typographic apostrophe as the plain one."""
    return fold_accents(text.replace("’", "'"))


_ALIASES: dict[str, str | None] = {_fold(a): country for country, aliases in COUNTRIES.items() for a in aliases}
_ALIASES.update({_fold(name): None for name in NOT_THE_COUNTRY})


def _trie(words: Iterable[str]) -> str:
    """One regex alternative per word, shared prefixes merged: a few hundred names stay fast to search for, and
    at every point the longest name is tried first ("Dominican Republic" before "Dominica")."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def pattern(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + pattern(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return pattern(root)


_PATTERN = re.compile(r"(?<![\w.])(" + _trie(_ALIASES) + r")(?!\w)")
_NEIGHBOUR_BEFORE = re.compile(r"([A-Z][\w.'-]*) $")
# Capitalised only for opening a sentence or a headline: no part of a longer name.
_FUNCTION_WORDS = frozenset("in the to from for and of at on by with but both near en el la los las de del y a para "
                            "con desde entre".split())
_NEIGHBOUR_AFTER = re.compile(r"^[ -][A-Z]")


def _proper(text: str, start: int, end: int, alias: str, dateline: bool) -> bool:
    """Whether the match at text[start:end] is written as the country's name, not a word or part of a name."""
    written = text[start:end]
    if not written[:1].isupper() or alias in _CASE_SENSITIVE and written != written.upper():
        return False
    if alias in AMBIGUOUS and not dateline:
        before = _NEIGHBOUR_BEFORE.search(text[max(0, start - 30):start])
        named_before = before is not None and before.group(1).lower() not in _FUNCTION_WORDS
        return not (named_before or _NEIGHBOUR_AFTER.match(text[end:end + 2]))
    return True


def countries_in(text: str, dateline: bool = False) -> list[str]:
    """Countries named in `text`, in order of first mention; a `dateline` names places only, so there a
    name that is also a person's or a word is the place all the same ("Georgetown" opening a story)."""
    found: dict[str, None] = {}
    folded = _fold(text)
    aligned = len(folded) == len(text)  # folding kept every character in place: the written form can be read
    for m in _PATTERN.finditer(folded):
        country = _ALIASES[m.group(1)]
        if country and (not aligned or _proper(text, m.start(), m.end(), m.group(1), dateline)):
            found[country] = None
    for country, words in CONFIRMED_BY.items():
        if country in found and not dateline and not any(_fold(w) in folded for w in words):
            del found[country]
    return list(found)


def canonical_country(name: str) -> str | None:
    """The country typed in English or Spanish, by its English name ("México" -> "Mexico", "Japón" -> "Japan")."""
    return _ALIASES.get(_fold(name.strip()))


def tag_countries(story: Story) -> Story:
    names = countries_in(story.place or "", dateline=True) + countries_in("\n".join([*story.titles, story.body]))
    return story.with_(countries=tuple(dict.fromkeys(names)))

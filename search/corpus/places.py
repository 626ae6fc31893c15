"""A small gazetteer of the region's countries: which countries a story is about, and filter names in Spanish.

A story is about the countries its dateline names and the countries its title or body mentions (by
English or Spanish name, capital, or an unambiguous demonym). Kept in code, not data, because it is
small and its matching rules matter more than its size.
"""
from __future__ import annotations

import re

from .story import Story
from .text import fold_accents

COUNTRIES: dict[str, tuple[str, ...]] = {
    "Antigua and Barbuda": ("Antigua y Barbuda", "St. John's"),
    "Argentina": ("Buenos Aires", "Argentine"),
    "Bahamas": ("The Bahamas", "Las Bahamas", "Nassau", "Bahamian"),
    "Barbados": ("Bridgetown", "Barbadian"),
    "Belize": ("Belice", "Belmopan", "Belizean", "Beliceño"),
    "Bolivia": ("La Paz", "Bolivian", "Boliviano"),
    "Brazil": ("Brasil", "Brasilia", "Brazilian"),
    "Canada": ("Canadá", "Ottawa", "Canadian"),
    "Chile": ("Santiago de Chile", "Chilean", "Chileno"),
    "Colombia": ("Bogota", "Bogotá", "Colombian", "Colombiano"),
    "Costa Rica": ("San José", "San Jose", "Costa Rican", "Costarricense"),
    "Cuba": ("Havana", "La Habana", "Cuban", "Cubano"),
    "Dominica": ("Roseau",),
    "Dominican Republic": ("República Dominicana", "Republica Dominicana", "Santo Domingo"),
    "Ecuador": ("Quito", "Ecuadorian", "Ecuatoriano"),
    "El Salvador": ("San Salvador", "Salvadoran", "Salvadorean", "Salvadoreño"),
    "Grenada": ("Granada", "St. George's"),
    "Guatemala": ("Guatemala City", "Ciudad de Guatemala", "Guatemalan", "Guatemalteco"),
    "Guyana": ("Georgetown", "Guyanese", "Guyanés"),
    "Haiti": ("Haití", "Port-au-Prince", "Haitian", "Haitiano"),
    "Honduras": ("Tegucigalpa", "Honduran", "Hondureño"),
    "Jamaica": ("Kingston", "Jamaican", "Jamaicano"),
    "Mexico": ("México", "Mexico City", "Ciudad de México", "Mexican", "Mexicano"),
    "Nicaragua": ("Managua", "Nicaraguan", "Nicaragüense"),
    "Panama": ("Panamá", "Panama City", "Panamanian", "Panameño", "Darien", "Darién"),
    "Paraguay": ("Asunción", "Paraguayan"),
    "Peru": ("Perú", "Lima", "Peruvian", "Peruano"),
    "Saint Kitts and Nevis": ("St. Kitts and Nevis", "San Cristóbal y Nieves", "Basseterre"),
    "Saint Lucia": ("St. Lucia", "Santa Lucía", "Castries"),
    "Saint Vincent and the Grenadines": ("St. Vincent and the Grenadines", "San Vicente y las Granadinas", "Kingstown"),
    "Suriname": ("Surinam", "Paramaribo", "Surinamese"),
    "Trinidad and Tobago": ("Trinidad y Tobago", "Port of Spain", "Trinidadian"),
    "United States": ("United States of America", "Estados Unidos", "USA", "U.S.", "Washington", "EEUU"),
    "Uruguay": ("Montevideo", "Uruguayan"),
    "Venezuela": ("Caracas", "Venezuelan", "Venezolano"),
}


# The Spanish name of each country whose name differs in Spanish (each is one of its aliases above): what the
# page shows Spanish speakers, and what the country box lets them type.
SPANISH_NAMES = {
    "Antigua and Barbuda": "Antigua y Barbuda", "Bahamas": "Las Bahamas", "Belize": "Belice", "Brazil": "Brasil",
    "Canada": "Canadá", "Dominican Republic": "República Dominicana", "Grenada": "Granada", "Haiti": "Haití",
    "Mexico": "México", "Panama": "Panamá", "Peru": "Perú", "Saint Kitts and Nevis": "San Cristóbal y Nieves",
    "Saint Lucia": "Santa Lucía", "Saint Vincent and the Grenadines": "San Vicente y las Granadinas",
    "Suriname": "Surinam", "Trinidad and Tobago": "Trinidad y Tobago", "United States": "Estados Unidos",
}


def local_name(country: str, language: str) -> str:
    """The gazetteer's country as a reader of `language` ("en" or "es") names it."""
    return SPANISH_NAMES.get(country, country) if language == "es" else country


_ALIASES = {fold_accents(alias): country for country, aliases in COUNTRIES.items() for alias in (country, *aliases)}
# Longest names first, so "Dominican Republic" wins over "Dominica" and "Santiago de Chile" over "Chile".
_PATTERN = re.compile(r"(?<![\w.])(" + "|".join(re.escape(a) for a in sorted(_ALIASES, key=len, reverse=True))
                      + r")(?!\w)")
# Upper-case abbreviations must stay upper-case: "us" and "usa" inside ordinary text are not the country.
_CASE_SENSITIVE = {"usa", "u.s.", "eeuu"}


def countries_in(text: str) -> list[str]:
    """Countries named in `text`, in order of first mention."""
    found: dict[str, None] = {}
    folded = fold_accents(text)
    for m in _PATTERN.finditer(folded):
        alias = m.group(1)
        if alias in _CASE_SENSITIVE and text[m.start():m.end()] != text[m.start():m.end()].upper():
            continue
        found[_ALIASES[alias]] = None
    return list(found)


def canonical_country(name: str) -> str | None:
    """The gazetteer's name for a country typed in English or Spanish ("México" -> "Mexico")."""
    return _ALIASES.get(fold_accents(name.strip()))


def tag_countries(story: Story) -> Story:
    names = countries_in(" ".join(filter(None, [story.place or "", *story.titles, story.body])))
    return story.with_(countries=tuple(names))

"""The gazetteer: every country of the world by its English and Spanish names, and no false friends."""
from __future__ import annotations

from collections import defaultdict

import pytest

from search.corpus._places import COUNTRIES, REGION_PLACES, canonical_country, countries_in, local_name
from search.errors import InvalidQueryError
from search.retrieval._filters import Filters


@pytest.mark.parametrize("typed, country", [("Japan", "Japan"), ("Japón", "Japan"), ("Russia", "Russia"),
                                            ("Rusia", "Russia"), ("Corea del Sur", "South Korea"),
                                            ("Ivory Coast", "Côte d'Ivoire"), ("Birmania", "Myanmar"),
                                            ("UK", "United Kingdom"), ("Alemania", "Germany"),
                                            ("república dominicana", "Dominican Republic")])
def test_any_country_of_the_world_is_known_by_its_english_and_spanish_names(typed, country):
    assert canonical_country(typed) == country
    assert Filters((typed,)).countries == (country,)


def test_an_unknown_country_names_examples_from_the_whole_world():
    with pytest.raises(InvalidQueryError, match="unknown country 'Atlantis': name a country in English or Spanish"):
        Filters(("Atlantis",))


def test_spanish_readers_see_spanish_names():
    assert [local_name(c, "es") for c in ("Japan", "Germany", "Panama", "United States")] == \
        ["Japón", "Alemania", "Panamá", "Estados Unidos"]


def test_no_name_belongs_to_two_countries_and_the_region_keeps_its_places():
    owners = defaultdict(set)
    for country, names in COUNTRIES.items():
        for name in names:
            owners[name.casefold()].add(country)
    assert not {name: c for name, c in owners.items() if len(c) > 1}
    assert set(REGION_PLACES) <= set(COUNTRIES)  # the region's places hang off the world's names
    assert len(COUNTRIES) > 240
    assert countries_in("Families crossed the Darién on foot") == ["Panama"]


@pytest.mark.parametrize("text, found", [
    ("Chad's army and Libyan troops clashed in northern Chad.", ["Chad"]),
    ("Chad Smith scored twice.", []),
    ("King Hussein of Jordan met officials in Amman, Jordan.", ["Jordan"]),
    ("Michael Jordan signed a contract.", []),
    ("Utilities in Georgia and the Carolinas raised rates.", []),  # the US state
    ("Flooding hit Tbilisi, the capital of Georgia.", ["Georgia"]),
    ("Georgia-Pacific Corp said it would redeem its shares.", []),
    ("Exports of turkey and china dinnerware rose.", []),  # words, not names
    ("Talks in Turkey and China's exports.", ["Türkiye", "China"]),
    ("Prices rose in New Mexico and the Gulf of Mexico.", []),
    ("Lake Chad is shrinking; the Niger River floods.", []),
    ("Migrants from Niger and Guinea-Bissau arrived.", ["Niger", "Guinea-Bissau"]),
    ("Papua New Guinea and Equatorial Guinea signed.", ["Papua New Guinea", "Equatorial Guinea"]),
    ("let us see the USA and the U.S.", ["United States"]),
])
def test_whole_world_names_add_no_false_friends(text, found):
    assert countries_in(text) == found


def test_a_dateline_names_its_place_even_with_a_word_beside_it():
    assert countries_in("Georgetown", dateline=True) == ["Guyana"]

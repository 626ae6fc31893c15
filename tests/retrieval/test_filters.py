"""Country and date filters: Spanish country names, and no recall lost to filtering (filter before top k)."""
from __future__ import annotations

import numpy as np
import pytest

from search.corpus._places import canonical_country, countries_in
from search.errors import InvalidQueryError
from search.retrieval._filters import Filters

QUESTION = "training for officials on migration"


def ids(result) -> list[str]:
    return [h.story.id for h in result.hits]


@pytest.mark.parametrize("spanish, english", [("México", "Mexico"), ("Belice", "Belize"), ("Panamá", "Panama"),
                                              ("Estados Unidos", "United States"),
                                              ("república dominicana", "Dominican Republic")])
def test_spanish_country_names_filter_like_english_ones(service, spanish, english):
    assert canonical_country(spanish) == english
    english_ids = ids(service.search(QUESTION, k=50, filters=Filters((english,))))
    assert english_ids and ids(service.search(QUESTION, k=50, filters=Filters((spanish,)))) == english_ids


def test_country_filter_keeps_only_stories_about_that_country(service):
    hits = service.search(QUESTION, k=50, filters=Filters(("Belize",))).hits
    assert hits and all("Belize" in h.story.countries for h in hits)
    with pytest.raises(InvalidQueryError, match="unknown country 'Atlantis'"):
        service.search(QUESTION, filters=Filters(("Atlantis",)))


def test_gazetteer_reads_datelines_names_and_demonyms_without_false_friends():
    assert countries_in("Santo Domingo - The Dominican Republic and Dominica") == ["Dominican Republic", "Dominica"]
    assert countries_in("Belizean citrus farms") == ["Belize"]
    assert countries_in("let us see the USA") == ["United States"]  # "us" is a word, "USA" the country


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_a_narrow_filter_still_returns_every_matching_story(service, mode):
    """Filtering after the top k would leave a narrow filter with few or no hits; before it, none are lost."""
    index = service.index
    rows_about = [r for r, s in enumerate(index.stories) if "Belize" in s.countries]
    result = service.search("migrant smuggling police training", k=10, mode=mode, filters=Filters(("Belize",)))
    if mode == "lexical":  # only stories that share a word can be found by words
        scores = index.lexical.scores("migrant smuggling police training")
        rows_about = [r for r in rows_about if scores[r] > 0]
    assert sorted(ids(result)) == sorted(index.stories[r].id for r in rows_about)


def test_a_filter_that_leaves_one_story_ranks_it_first_and_scores_it_for_what_it_is(service):
    only = next(c for c in service.countries() if sum(c in s.countries for s in service.index.stories) == 1)
    (hit,) = service.search("migrant workers", k=5, filters=Filters((only,))).hits
    assert hit.why["fused"] == 1.0  # one candidate can't be min-max scaled, but it is the best there is
    assert hit.score == hit.why["relevance"]  # shown as the match it is, not as a perfect one


@pytest.mark.parametrize("mode", ["dense", "lexical"])
def test_filtered_ranking_is_the_unfiltered_ranking_restricted(service, mode):
    everything = ids(service.search(QUESTION, k=100, mode=mode))
    filters = Filters(("Mexico",), date_from=None)
    rows = filters.allowed_rows(service.index.columns)
    assert rows is not None
    allowed = {service.index.stories[r].id for r in rows}
    assert ids(service.search(QUESTION, k=3, mode=mode, filters=filters)) == [i for i in everything if i in allowed][:3]


def test_date_range_is_inclusive_and_drops_undated_stories(service):
    dated = sorted(s.date for s in service.index.stories if s.date)
    day = dated[len(dated) // 2]
    hits = service.search(QUESTION, k=100, filters=Filters(date_from=day, date_to=day)).hits
    assert hits and all(h.story.date == day for h in hits)
    assert len(hits) == sum(s.date == day for s in service.index.stories)
    after = service.search(QUESTION, k=100, filters=Filters(date_from=day)).hits
    assert all(h.story.date and h.story.date >= day for h in after)


def test_impossible_filters_are_refused_or_empty(service):
    with pytest.raises(InvalidQueryError):
        Filters(date_from="2021-12-01", date_to="2021-01-01")
    with pytest.raises(InvalidQueryError):
        Filters(date_from="1 May 2021")
    result = service.search(QUESTION, filters=Filters(date_from="2999-01-01"))
    assert result.hits == [] and not result.answerable
    assert isinstance(Filters().allowed_rows(service.index.columns), type(None))
    lower, upper = (Filters((name,)).allowed_rows(service.index.columns) for name in ("mexico", "MÉXICO"))
    assert lower is not None and upper is not None and np.array_equal(lower, upper)


def test_an_unknown_country_is_refused_and_blank_ones_are_no_filter(service):
    with pytest.raises(InvalidQueryError, match="unknown country 'Narnia'"):
        Filters(("Panama", "Narnia"))
    assert Filters(("", "  ")) == Filters() and not Filters(("",)).active
    # A caller may pass one name where a tuple is declared: it is one name, not its letters.
    assert Filters("Panamá").countries == ("Panama",)  # type: ignore[arg-type]


def test_other_iso_spellings_of_a_date_mean_the_same_day(service):
    assert Filters(date_from="20210901", date_to="2021-W45-3").date_from == "2021-09-01"
    assert ids(service.search(QUESTION, k=50, filters=Filters(date_from="20210901", date_to="2021-W45-3"))) == \
        ids(service.search(QUESTION, k=50, filters=Filters(date_from="2021-09-01", date_to="2021-11-10")))

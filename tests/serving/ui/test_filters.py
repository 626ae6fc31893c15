"""The filters in a browser: dates as people type them, the undated stories a date filter leaves out, and
filters a phone can reach."""
from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.helpers import PHONE, ask, set_date

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
BORDER = "border security"


def shown_dates(page: Page) -> list[str]:
    return page.locator("#results .card time").evaluate_all("els => els.map(e => e.getAttribute('datetime'))")


def test_the_date_applied_is_the_date_on_screen(page: Page) -> None:
    """A date typed over another and applied with Enter is the one the search uses: what the box shows and what
    filters must never differ."""
    ask(page, BORDER)
    set_date(page, "date-from", "2021-11-01")
    expect(page.locator("#status")).to_contain_text("9 stories")
    set_date(page, "date-from", "1 Dec 2021")
    expect(page.locator("#status")).to_contain_text("No stories match")
    expect(page.locator("#date-from input, #date-from textarea").first).to_have_value("1 Dec 2021")
    set_date(page, "date-from", "Nov 2021")  # a month: from its first day
    expect(page.locator("#date-from input, #date-from textarea").first).to_have_value("1 Nov 2021")
    expect(page.locator("#status")).to_contain_text("9 stories")
    assert min(shown_dates(page)) >= "2021-11-01"


@pytest.mark.parametrize(("typed", "shown"), [("1 Nov 2021", "1 Nov 2021"), ("Nov 2021", "30 Nov 2021"),
                                              ("11/30/2021", "30 Nov 2021")])
def test_dates_typed_in_common_forms_are_understood_on_a_fresh_page(page: Page, typed: str,
                                                                     shown: str) -> None:
    """Dates typed the ways people write them are read on a fresh page too, and applied: a date the page drops
    would filter nothing while the box shows a filter."""
    ask(page, BORDER)
    page.locator("#results .card").first.wait_for()
    set_date(page, "date-to", typed)
    expect(page.locator("#date-to input, #date-to textarea").first).to_have_value(shown)
    expect(page.locator("#status")).to_contain_text("undated")  # a filter is on
    assert max(shown_dates(page)) <= "2021-11-30"


def test_a_date_that_cannot_be_read_is_refused_with_a_message(page: Page) -> None:
    ask(page, BORDER)
    page.locator("#results .card").first.wait_for()
    set_date(page, "date-from", "sometime last year")
    alert = page.locator("#status [role=alert]")
    expect(alert).to_contain_text("From date")
    expect(alert).to_contain_text("sometime last year")
    assert page.locator("#results .card").count() == 0  # nothing shown as if it were filtered


def test_a_date_filter_says_how_many_undated_stories_it_leaves_out(page: Page, service) -> None:
    """A date filter leaves undated stories out, so it says how many: a reader would otherwise miss them."""
    undated = sum(1 for s in service.index.stories if not s.date)
    ask(page, BORDER)
    set_date(page, "date-from", "2021-11-01")
    expect(page.locator("#status")).to_contain_text(f"{undated} undated stories are left out")


def test_filters_are_reachable_above_the_results_on_a_phone(open_page) -> None:
    """On a phone-sized screen the filters come before the results: below them, they are out of reach."""
    page = open_page(viewport=PHONE)
    ask(page, BORDER)
    first_card = page.locator("#results .card").first
    first_card.wait_for()
    toggle = page.locator("#filters").get_by_text("Filters", exact=True).first
    assert toggle.bounding_box()["y"] < first_card.bounding_box()["y"]
    toggle.click()
    date_from = page.locator("#date-from input, #date-from textarea").first
    expect(date_from).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

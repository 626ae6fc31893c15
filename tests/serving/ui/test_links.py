"""A search has an address: the page's URL carries the question, filters and mode, and opening it runs that
search; the shown results download as CSV and JSON; a collection can be browsed without a question."""
from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.helpers import SMUGGLING, ask, attribute

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


def shown_ids(page: Page) -> list[str]:
    return page.locator("#results .card").evaluate_all("cards => cards.map(c => c.dataset.id)")


def test_the_address_follows_the_search_and_opening_it_runs_that_search(open_page, service) -> None:
    page = open_page()
    ask(page, SMUGGLING)
    page.locator("#results .card").first.wait_for()
    page.locator("#mode label").filter(has_text="Meaning only").click()
    page.wait_for_function("() => new URLSearchParams(location.search).get('mode') === 'dense'")
    asked = parse_qs(urlparse(page.url).query)
    assert asked == {"q": [SMUGGLING], "mode": ["dense"]}, asked
    want = [h.story.id for h in service.search(SMUGGLING, 10, "dense").hits]
    page.wait_for_function("ids => [...document.querySelectorAll('#results .card')].map(c => c.dataset.id)"
                           ".join() === ids.join()", arg=want)

    shared = open_page(path="/?q=migrant+smuggling&country=Panam%C3%A1&date_from=2021-01-01&mode=lexical&k=3")
    shared.locator("html[data-ready=true]").wait_for(state="attached")
    expect(shared.get_by_label("Your question")).to_have_value("migrant smuggling")
    expect(shared.locator("#country")).to_contain_text("Panama")
    from search import Filters
    want = [h.story.id for h in service.search("migrant smuggling", 3, "lexical",
                                               Filters(("Panama",), "2021-01-01")).hits]
    assert want and shown_ids(shared) == want
    expect(shared.locator("#date-from input, #date-from textarea").first).to_have_value("1 Jan 2021")


def test_the_shown_results_download_as_csv_and_json(open_page, service) -> None:
    page = open_page()
    ask(page, SMUGGLING)
    page.locator("#results .card").first.wait_for()
    ids = shown_ids(page)
    base = page.url.split("/?")[0].rstrip("/")
    csv_link = page.locator("#status .export a", has_text="CSV").get_attribute("href")
    json_link = page.locator("#status .export a", has_text="JSON").get_attribute("href")
    answer = httpx.get(base + csv_link)
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["id"] for r in rows] == ids and rows[0]["title"] == service.story(ids[0]).title
    assert [h["id"] for h in httpx.get(base + json_link).json()["hits"]] == ids


def test_a_collection_can_be_browsed_without_a_question(page: Page, service) -> None:
    expect(page.locator("#status")).to_contain_text("browse the newest stories")
    page.locator("#browse").click()
    expect(page.locator("#status")).to_contain_text(f"The newest stories: 10 of {len(service.index)} stories")
    dated = sorted((s for s in service.index.stories if s.date), key=lambda s: s.date, reverse=True)
    shown = page.locator("#results .card time").evaluate_all("times => times.map(t => t.getAttribute('datetime'))")
    assert shown == [s.date for s in dated[:len(shown)]] and len(shown) == 10


def test_a_map_topic_lists_its_stories(page: Page, service) -> None:
    page.get_by_role("tab", name="Map").click()
    page.locator(f"#map .atlas[data-drawn='{len(service.index)}']").wait_for()
    atlas = service.index.atlas
    topic = page.locator("#map .atlas-key-topic").first
    number = int(attribute(topic, "data-topic"))
    topic.click()
    members = {service.index.stories[i].id for i, t in enumerate(atlas.topics.tolist()) if t == number}
    expect(page.locator("#status")).to_contain_text(f"Map topic “{atlas.labels[number]}”")
    expect(page.get_by_role("tab", name="Stories")).to_have_attribute("aria-selected", "true")
    page.locator("#results .card").first.wait_for()
    assert set(shown_ids(page)) == members


def test_gradios_own_api_page_is_not_offered(page: Page) -> None:
    """Its "Use via API" footer showed "[object Object] Textbox component"; the JSON API is at /docs."""
    expect(page.locator("#masthead a[href='/docs']")).to_be_visible()
    assert page.get_by_text("Use via API").count() == 0

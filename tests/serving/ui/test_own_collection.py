"""A collection as a newcomer brings one: abstracts in a file of their own, no dates, no description, no example
questions. The page names it by its file, offers its own words to search, and shows no empty timeline."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from search import SearchService, build_index
from search.collection import suggested_examples
from tests.helpers import WAIT_MS, launch_browser

if TYPE_CHECKING:
    from playwright.sync_api import Browser

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


@pytest.fixture(scope="module")
def abstracts(tmp_path_factory: pytest.TempPathFactory) -> SearchService:
    folder = tmp_path_factory.mktemp("mydata")
    rows = [{"_id": f"a{i}", "title": f"Kinase {i} in cell signalling", "text": f"Protein kinase {i} regulates the "
             f"pathway of cell {'growth' if i % 2 else 'death'} in model organism {i % 5}."} for i in range(24)]
    (folder / "abstracts.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    root = tmp_path_factory.mktemp("abstracts-index")
    build_index([folder / "abstracts.jsonl"], root, "hashing")
    return SearchService.open(root)


@pytest.fixture(scope="module")
def abstracts_browser(abstracts: SearchService) -> Iterator[tuple[str, Browser]]:
    yield from launch_browser(abstracts)


def test_a_collection_of_its_own_is_named_by_its_file_and_offers_its_own_words(abstracts_browser, abstracts) -> None:
    """Both newcomer collections were titled "mydata" (their folder), with no example questions, and the undated
    one showed an empty timeline reading "2,000 undated"."""
    url, chromium = abstracts_browser
    page = chromium.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(url + "/")
    page.locator("html[data-ready=true]").wait_for(state="attached")
    expect(page.locator(".masthead h1")).to_have_text("Abstracts")  # the file's name, not its folder's
    words = list(suggested_examples(abstracts.index.atlas.labels))
    assert words
    assert [t.strip() for t in page.locator("#examples button").all_inner_texts()] == words
    page.get_by_role("tab", name="Map").click()
    page.locator(f"#map .atlas[data-drawn='{len(abstracts.index)}']").wait_for()
    expect(page.locator("#map .atlas-timeline")).to_be_hidden()
    expect(page.locator("#map .atlas-caption")).to_contain_text("No story here has a date, so there is no timeline.")
    page.close()

"""The page names the collection it serves (from the index, not a constant) and counts it live."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from search import SearchService, build_index
from search.corpus import make_story
from tests.helpers import WAIT_MS, launch_browser

if TYPE_CHECKING:
    from playwright.sync_api import Browser

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
WIRES = [{"_id": f"w{i}", "title": title, "text": text, "date": "1987-03-0" + str(i + 1)} for i, (title, text) in
         enumerate([("Cocoa crop improves", "Showers in the Bahia cocoa zone eased the drought, traders said."),
                    ("Bank raises rates", "The central bank raised its discount rate by half a point on Monday."),
                    ("Oil output falls", "Crude oil output fell in February as two fields closed for repairs.")])]


@pytest.fixture(scope="module")
def wires(tmp_path_factory: pytest.TempPathFactory) -> SearchService:
    """A small newswire collection in a folder named reuters-sample, built without --name or --examples."""
    folder = tmp_path_factory.mktemp("corpus") / "reuters-sample"
    folder.mkdir()
    (folder / "wires.jsonl").write_text("\n".join(json.dumps(w) for w in WIRES), encoding="utf-8")
    root = tmp_path_factory.mktemp("wires-index")
    build_index([folder], root, "hashing")
    return SearchService.open(root)


@pytest.fixture(scope="module")
def wire_browser(wires: SearchService) -> Iterator[tuple[str, Browser]]:
    yield from launch_browser(wires)


def test_the_page_names_the_collection_and_counts_it_live(wire_browser, wires: SearchService) -> None:
    """The page names the collection it serves (not a fixed name, nor a placeholder question about another
    collection's subject), and its count follows writes made through the API."""
    url, chromium = wire_browser
    page = chromium.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(url + "/")
    page.locator("html[data-ready=true]").wait_for(state="attached")
    masthead = page.locator(".masthead")
    expect(masthead).to_contain_text("Reuters sample")  # the corpus folder's name, tidied
    expect(masthead).to_contain_text("3 stories")
    assert "IOM" not in masthead.inner_text()
    assert "smuggling" not in (page.get_by_label("Your question").get_attribute("placeholder") or "")
    # No list given, and one topic has no words telling it from the rest: no examples, rather than made-up ones.
    assert page.locator("#examples button").count() == 0

    wires.add([make_story("Sugar prices rise", "World sugar prices rose on lower Cuban output.")])  # as the API does
    page.reload()
    page.locator("html[data-ready=true]").wait_for(state="attached")
    expect(masthead).to_contain_text("4 stories")
    page.close()


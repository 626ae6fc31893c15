"""The page on a phone: results scrolled into view, the related panel closed by Escape and by the browser's back
button, scores readable without hover, a way back through related stories, and a map that fits the screen."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.helpers import PHONE, ROOT, SMUGGLING, ask

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
PANEL_OPEN = "#related-panel.open"


def in_view(page: Page, selector: str) -> bool:
    return page.evaluate(f"""() => {{ const box = document.querySelector({selector!r}).getBoundingClientRect();
        return box.top >= 0 && box.top < window.innerHeight; }}""")


def test_a_search_on_a_phone_brings_the_first_result_into_view(open_page) -> None:
    page = open_page(viewport=PHONE)
    ask(page, SMUGGLING)
    page.locator("#results .card").first.wait_for()
    page.wait_for_function("""() => { const card = document.querySelector('#results .card').getBoundingClientRect();
        return card.top >= 0 && card.top < window.innerHeight; }""")
    score = page.locator("#results .card .score").first
    expect(score).to_contain_text(score.get_attribute("data-score"))  # the number, without a hover


def test_escape_and_back_close_the_related_panel_and_it_leads_back(open_page) -> None:
    page = open_page(viewport=PHONE)
    ask(page, SMUGGLING)
    page.locator("#results .related-btn").first.click()
    first = page.locator("#related .related-title")
    first.wait_for()
    expect(page.locator(PANEL_OPEN)).to_have_count(1)
    page.keyboard.press("Escape")
    expect(page.locator(PANEL_OPEN)).to_have_count(0)
    assert in_view(page, "#results .card")  # the results, where they were

    page.locator("#results .related-btn").first.click()
    expect(page.locator(PANEL_OPEN)).to_have_count(1)
    before = first.inner_text()
    onward = page.locator("#related .card-title").first.inner_text()
    page.locator("#related .card .related-btn").first.click()
    expect(first).to_have_text(onward)
    back = page.locator("#related .back-btn")
    expect(back).to_contain_text(f"Back to: {before}")
    back.click()
    expect(first).to_have_text(before)
    expect(page.locator("#related .back-btn")).to_have_count(0)  # the first story opened: nothing before it

    page.go_back()  # the browser's back button closes the panel and stays on the page
    expect(page.locator(PANEL_OPEN)).to_have_count(0)
    expect(page.get_by_label("Your question")).to_have_value(SMUGGLING)


def test_the_map_fits_a_phone(open_page, service, tmp_path: Path) -> None:
    page = open_page(viewport=PHONE)
    page.get_by_role("tab", name="Map").click()
    page.locator(f"#map .atlas[data-drawn='{len(service.index)}']").wait_for()
    plot = page.locator("#map .atlas-plot").bounding_box()
    boxes = page.locator("#map .atlas-topic").evaluate_all("els => els.map(e => e.getBoundingClientRect().toJSON())")
    assert boxes
    for box in boxes:  # every label inside the plot, hence on the screen
        assert plot["x"] <= box["x"] and box["x"] + box["width"] <= plot["x"] + plot["width"] + 0.5, box
        assert box["x"] + box["width"] <= PHONE["width"]
    timeline = page.locator("#map .atlas-timeline")
    assert timeline.evaluate("el => el.scrollHeight <= el.clientHeight + 1")  # no box scrolled on its own
    dated = sum(1 for s in service.index.stories if s.date)
    counts = page.locator("#map .atlas-bar").evaluate_all("els => els.map(e => Number(e.dataset.count))")
    assert sum(counts) == dated and len(counts) <= 24
    page.get_by_role("tab", name="Stories").click()
    ask(page, SMUGGLING)
    page.locator("#results .card").first.wait_for()
    page.wait_for_function("() => document.querySelector('#results .card').getBoundingClientRect().top >= 0")
    page.screenshot(path=str(tmp_path / "phone.png"))
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        shutil.copy(tmp_path / "phone.png", ROOT / "docs" / "screenshot-phone.png")

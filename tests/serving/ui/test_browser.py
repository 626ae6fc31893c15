"""The web page in a real browser: Debian's Chromium driven by Playwright's Python package.

Never `playwright install` (it downloads a browser); `make test` installs Debian's chromium when missing.
With UPDATE_SCREENSHOT=1 the test also writes docs/screenshot.png, so the README's picture is always what
this code path sees.
"""
from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from search.retrieval.service import SearchService
from search.serving import serve_in_background
from tests.helpers import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
QUESTION = "training for police against migrant smuggling"
# Gradio pads the page by --overlap-amount (with a CSS transition) while the side panel is open.
PANEL_SETTLED = """() => getComputedStyle(document.querySelector('.sidebar-parent')).paddingRight
    === getComputedStyle(document.documentElement).getPropertyValue('--overlap-amount').trim()"""
WAIT_MS = 60_000  # a ceiling, not a wait: every step waits on the page being ready or on what it shows

sync_api = pytest.importorskip("playwright.sync_api", reason="the browser test needs Playwright's Python package "
                               "(pip install playwright; it is in the `test` extra)")


@pytest.fixture(scope="module")
def browser(service: SearchService) -> Iterator[tuple[str, sync_api.Browser]]:
    if not CHROMIUM.exists():
        pytest.skip(f"BROWSER TEST SKIPPED: no Chromium at {CHROMIUM}; install it with "
                    "`apt-get install chromium` (as root, `make test` does this)")
    with serve_in_background(service) as url, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield url, browser
        browser.close()


@pytest.fixture
def page(browser: tuple[str, sync_api.Browser]) -> Iterator[sync_api.Page]:
    """A fresh page per test, handed over once Gradio has wired it (typing earlier can be lost)."""
    url, chromium = browser
    page = chromium.new_page(viewport={"width": 1600, "height": 1000})
    page.set_default_timeout(WAIT_MS)
    sync_api.expect.set_options(timeout=WAIT_MS)
    page.goto(url + "/")
    page.locator("html[data-ready=true]").wait_for(state="attached")
    yield page
    page.close()


def test_search_then_related_stories(page: sync_api.Page, tmp_path: Path) -> None:
    question = page.get_by_label("Your question")
    question.fill(QUESTION)
    question.press("Enter")
    titles = page.locator("#results .card-title")
    titles.first.wait_for()
    found = titles.all_inner_texts()
    smuggling = next(i for i, t in enumerate(found) if "smuggling" in t.lower())
    assert page.locator("#status").inner_text().startswith(f"{len(found)} stories")
    assert page.locator("#results .card").nth(smuggling).locator("mark").count() > 0  # matched terms lit up

    page.locator("#results .related-btn").nth(smuggling).click()
    page.locator("#related .related-title").filter(has_text=found[smuggling]).wait_for()
    related = page.locator("#related .card-title").all_inner_texts()
    assert found[smuggling] not in related
    assert any("smuggling" in t.lower() for t in related), related

    page.wait_for_function(PANEL_SETTLED)  # the page slides aside for the panel: shoot once it has
    page.screenshot(path=str(tmp_path / "related.png"))
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        shutil.copy(tmp_path / "related.png", ROOT / "docs" / "screenshot.png")

    onward = related[0]  # and onward, from a related story to its own related stories
    page.locator("#related .related-btn").first.click()
    page.locator("#related .related-title").filter(has_text=onward).wait_for()
    assert page.locator("#related .card").count() > 0


def test_an_example_question_searches_on_click(page: sync_api.Page) -> None:
    example = page.locator("#examples button").first
    text = example.inner_text().rstrip(".…")  # long examples are shown cut short
    example.click()
    sync_api.expect(page.get_by_label("Your question")).to_have_value(re.compile("^" + re.escape(text)))
    sync_api.expect(page.locator("#results .card-title").first).to_contain_text(text[:20])


def test_errors_show_as_messages(page: sync_api.Page) -> None:
    question = page.get_by_label("Your question")
    question.fill(QUESTION)
    for box, day in (("#date-from", "2021-12-31"), ("#date-to", "2021-01-01")):
        page.locator(f"{box} input").fill(day)
        page.locator(f"{box} input").press("Enter")
    page.locator("#status [role=alert]").filter(has_text="is after").wait_for()
    assert "Traceback" not in page.content()


def test_readable_on_a_narrow_window(page: sync_api.Page) -> None:
    page.set_viewport_size({"width": 380, "height": 800})
    page.get_by_label("Your question").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

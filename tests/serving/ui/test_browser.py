"""The web page in a real browser: Debian's Chromium driven by Playwright's Python package.

With UPDATE_SCREENSHOT=1 the tests also write the README's pictures (docs/*.png), so they always show what
this code path sees.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.helpers import QUESTION_LABEL, ROOT, SEEDS, SMUGGLING, ask, attribute, every_process_model

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = every_process_model()
expect = sync_api.expect
# Gradio pads the page by --overlap-amount (with a CSS transition) while the side panel is open.
PANEL_SETTLED = """() => getComputedStyle(document.querySelector('.sidebar-parent')).paddingRight
    === getComputedStyle(document.documentElement).getPropertyValue('--overlap-amount').trim()"""


def test_search_then_related_stories(page: Page, tmp_path: Path) -> None:
    ask(page, SMUGGLING)
    titles = page.locator("#results .card-title")
    titles.first.wait_for()
    found = titles.all_inner_texts()
    smuggling = next(i for i, t in enumerate(found) if "smuggling" in t.lower())
    assert page.locator("#status").inner_text().startswith(f"{len(found)} stories")
    assert page.locator("#results .card").nth(smuggling).locator("mark").count() > 0  # matched terms lit up
    top = page.locator("#results .card .score").first  # the score in words and as a number, no hover needed
    expect(top).to_have_text(f'strong match · {attribute(top, "data-score")}')
    assert 0.6 <= float(attribute(top, "data-score")) <= 1

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


def test_a_question_nothing_answers_says_so_and_reads_weak(page: Page) -> None:
    ask(page, "migrant smuggling networks in Norway")
    expect(page.locator("#status")).to_contain_text("No story answers this closely")
    expect(page.locator("#status")).to_contain_text("No story mentions Norway.")
    scores = page.locator("#results .card .score").all_inner_texts()
    assert scores and {s.split(" · ")[0] for s in scores} == {"weak match"}


def test_examples_are_the_collections_questions_and_search_on_click(page: Page) -> None:
    """Examples are questions a reader would ask (not truncated story titles, which only find their own story),
    and clicking one searches with it."""
    questions = json.loads((SEEDS / "collection.json").read_text(encoding="utf-8"))["examples"]
    shown = page.locator("#examples button").all_inner_texts()
    assert shown and all(text.strip() in questions for text in shown), shown
    page.locator("#examples button").first.click()
    expect(page.get_by_label(QUESTION_LABEL["en"])).to_have_value(shown[0].strip())
    first = page.locator("#results .card-title").first
    first.wait_for()
    assert first.inner_text().strip() != shown[0].strip()


def test_errors_show_as_messages_naming_the_fields_as_the_page_does(page: Page) -> None:
    ask(page, SMUGGLING)
    page.locator("#results .card").first.wait_for()
    for box, day in (("#date-from", "2021-12-31"), ("#date-to", "2021-01-01")):
        page.locator(f"{box} input, {box} textarea").first.fill(day)
        page.locator(f"{box} input, {box} textarea").first.press("Enter")
    alert = page.locator("#status [role=alert]").filter(has_text="is after")
    expect(alert).to_contain_text("From date")
    expect(alert).not_to_contain_text("date_from")
    assert "Traceback" not in page.content()


def test_readable_on_a_narrow_window(page: Page) -> None:
    page.set_viewport_size({"width": 380, "height": 800})
    page.get_by_label(QUESTION_LABEL["en"]).wait_for()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_question_over_the_limit_is_refused_in_words_and_keeps_results_in_view(page: Page) -> None:
    """A question over the limit must be refused in words, not cut silently, and the message must stay where the
    reader looks rather than push the results off screen."""
    question = " ".join(["migrant smuggling"] * 2500)
    ask(page, question)
    alert = page.locator("#status [role=alert]")
    expect(alert).to_contain_text(f"{len(question):,} characters")
    expect(alert).to_contain_text("2,000")
    status, screen = page.locator("#status").bounding_box(), page.viewport_size
    assert status is not None and screen is not None, "the status is not drawn"
    assert status["y"] < screen["height"], "the message is off screen"
    assert page.locator("#results .card").count() == 0


class HeldRequests:
    """Holds the page's calls to the server until `release`: what the page says while it waits can be read
    without racing the answer. A page served by one process calls through Gradio's queue, one served by
    several workers calls each function directly."""

    def __init__(self, page: Page) -> None:
        self.holding = True
        self.held: list[Route] = []
        page.route("**/gradio_api/queue/join*", self._route)
        page.route("**/gradio_api/run/**", self._route)

    def _route(self, route: Route) -> None:
        if self.holding:
            self.held.append(route)
        else:
            route.continue_()

    def release(self) -> None:
        self.holding = False
        for route in self.held:
            route.continue_()


def test_the_status_says_searching_while_a_search_runs(page: Page) -> None:
    """While a search runs the status line says so, rather than still inviting a question."""
    held = HeldRequests(page)
    ask(page, SMUGGLING)
    expect(page.locator("#status")).to_contain_text("Searching")
    held.release()
    page.locator("#results .card").first.wait_for()
    expect(page.locator("#status")).not_to_contain_text("Searching")


def test_related_stories_from_low_in_the_panel_show_from_the_top_with_feedback(page: Page) -> None:
    """Related stories opened from a card low in the panel show from the top, and the page says they are
    loading: otherwise the panel stays scrolled down and looks unchanged."""
    ask(page, SMUGGLING)
    page.locator("#results .related-btn").first.click()
    panel = page.locator("#related .related-title")
    panel.wait_for()
    last = page.locator("#related .card").last
    last.scroll_into_view_if_needed()
    onward = last.locator(".card-title").inner_text()
    held = HeldRequests(page)
    last.locator(".related-btn").click()
    expect(page.locator("#related")).to_contain_text("Loading related stories")
    held.release()
    title = page.locator("#related .related-title").filter(has_text=onward)
    title.wait_for()
    expect(title).to_be_in_viewport()

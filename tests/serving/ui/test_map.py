"""The map of the collection in a browser: every story a point placed by meaning, topics labelled with their
words, a timeline beside it; hover names a story, a click opens it with its related stories, and a question
lights up where its answers sit."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.helpers import ROOT, SMUGGLING, ask, every_process_model

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = every_process_model()
expect = sync_api.expect
ATLAS = "#map .atlas"


def open_map(page: sync_api.Page, stories: int) -> sync_api.Locator:
    page.get_by_role("tab", name="Map").click()
    atlas = page.locator(f"{ATLAS}[data-drawn='{stories}']")
    atlas.wait_for()
    return atlas


def screen_point(page: sync_api.Page, story_id: str) -> dict[str, float]:
    """Where a story's point is drawn, in page coordinates (the map keeps its layout on the element)."""
    return page.evaluate("id => document.querySelector('#map .atlas').atlas.screenPoint(id)", story_id)


def test_the_map_draws_every_story_with_labelled_topics_and_a_timeline(page: sync_api.Page, service) -> None:
    stories = len(service.index)
    open_map(page, stories)
    labels = page.locator(f"{ATLAS} .atlas-topic").all_inner_texts()
    assert len(labels) >= 2 and all(label.strip() for label in labels), labels
    expect(page.locator(f"{ATLAS} .atlas-caption")).to_contain_text(f"{stories} stories")
    dated = sum(1 for s in service.index.stories if s.date)
    bars = page.locator(f"{ATLAS} .atlas-bar")
    assert bars.count() > 0
    assert sum(int(b) for b in bars.evaluate_all("els => els.map(e => e.dataset.count)")) == dated
    expect(page.locator(f"{ATLAS} .atlas-timeline")).to_contain_text("undated")


def test_hover_names_a_story_and_a_click_opens_it_with_its_related_stories(page: sync_api.Page, service) -> None:
    open_map(page, len(service.index))
    story = service.index.stories[0]
    at = screen_point(page, story.id)
    page.mouse.move(at["x"], at["y"])
    expect(page.locator(f"{ATLAS} .atlas-tip")).to_contain_text(story.title)
    page.mouse.click(at["x"], at["y"])
    expect(page.locator("#related .related-title")).to_have_text(story.title)
    assert page.locator("#related .card").count() > 0


def test_a_question_lights_up_where_its_answers_sit(page: sync_api.Page, service, tmp_path: Path) -> None:
    atlas = open_map(page, len(service.index))
    ask(page, SMUGGLING)
    expect(atlas).to_have_attribute("data-highlighted", "10")
    page.locator(f"{ATLAS} input[value=country]").check()
    expect(page.locator(f"{ATLAS} .atlas-legend")).to_contain_text("Panama")
    page.screenshot(path=str(tmp_path / "map.png"))
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        shutil.copy(tmp_path / "map.png", ROOT / "docs" / "screenshot-map.png")

"""The map of the collection in a browser: every story a point placed by meaning, topics labelled with their
words, a timeline beside it; hover names a story, a click opens it with its related stories, and a question
lights up where its answers sit."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.helpers import ROOT, SMUGGLING, ask, every_process_model

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = every_process_model()
expect = sync_api.expect
ATLAS = "#map .atlas"


def open_map(page: Page, stories: int) -> Locator:
    page.get_by_role("tab", name="Map").click()
    atlas = page.locator(f"{ATLAS}[data-drawn='{stories}']")
    atlas.wait_for()
    return atlas


def screen_point(page: Page, story_id: str) -> dict[str, float]:
    """Where a story's point is drawn, in page coordinates (the map keeps its layout on the element)."""
    return page.evaluate("id => document.querySelector('#map .atlas').atlas.screenPoint(id)", story_id)


def test_the_map_draws_every_story_with_labelled_topics_and_a_timeline(page: Page, service) -> None:
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


def test_hover_names_a_story_and_a_click_opens_it_with_its_related_stories(page: Page, service) -> None:
    open_map(page, len(service.index))
    story = service.index.stories[0]
    at = screen_point(page, story.id)
    page.mouse.move(at["x"], at["y"])
    expect(page.locator(f"{ATLAS} .atlas-tip")).to_contain_text(story.title)
    page.mouse.click(at["x"], at["y"])
    expect(page.locator("#related .related-title")).to_have_text(story.title)
    assert page.locator("#related .card").count() > 0


def test_a_question_lights_up_where_its_answers_sit(page: Page, service, tmp_path: Path) -> None:
    atlas = open_map(page, len(service.index))
    ask(page, SMUGGLING)
    expect(atlas).to_have_attribute("data-highlighted", "10")
    page.locator(f"{ATLAS} input[value=country]").check()
    expect(page.locator(f"{ATLAS} .atlas-legend")).to_contain_text("Panama")
    page.evaluate("document.querySelector('#views').scrollIntoView({block: 'start'})")  # the map, whole
    page.screenshot(path=str(tmp_path / "map.png"))
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        shutil.copy(tmp_path / "map.png", ROOT / "docs" / "screenshot-map.png")


def test_topic_labels_never_overlap_each_other_or_leave_the_plot(open_page, service) -> None:
    for viewport in ({"width": 1600, "height": 1000}, {"width": 900, "height": 800}):
        page = open_page(viewport=viewport)
        open_map(page, len(service.index))
        plot = page.locator(f"{ATLAS} .atlas-plot").bounding_box()
        boxes = page.locator(f"{ATLAS} .atlas-topic").evaluate_all(
            "els => els.map(e => e.getBoundingClientRect().toJSON())")
        assert len(boxes) >= 2
        for i, a in enumerate(boxes):
            assert plot["x"] <= a["left"] and a["right"] <= plot["x"] + plot["width"] + 0.5, (viewport, a)
            assert plot["y"] <= a["top"] and a["bottom"] <= plot["y"] + plot["height"] + 0.5, (viewport, a)
            for b in boxes[i + 1:]:
                apart = a["right"] <= b["left"] or b["right"] <= a["left"] or a["bottom"] <= b["top"] \
                    or b["bottom"] <= a["top"]
                assert apart, (viewport, a, b)
        # every topic is listed under the map too, so a label left out for lack of room is still reachable
        expect(page.locator(f"{ATLAS} .atlas-key-topic")).to_have_count(len(service.index.atlas.labels))


def test_a_question_nothing_answers_rings_its_nearest_stories_not_answers(page: Page, service) -> None:
    """After "nothing answers this" the map said "10 answers to ... are ringed"."""
    atlas = open_map(page, len(service.index))
    ask(page, "migrant smuggling networks in Norway")
    expect(atlas).to_have_attribute("data-highlighted", "10")
    note = page.locator(f"{ATLAS} .atlas-note")
    expect(note).to_contain_text("No story answers “migrant smuggling networks in Norway” closely; the 10 nearest")
    expect(note).not_to_contain_text("answers to")

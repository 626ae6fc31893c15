"""Browser fixtures: one server and one Debian Chromium per test module, a fresh page per test.

Never `playwright install` (it downloads a browser); `make test` installs Debian's chromium when missing.
A page is handed over once Gradio has wired it (`html[data-ready=true]`): typing earlier can be lost.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from search.retrieval._service import SearchService
from tests.helpers import DESKTOP, WAIT_MS, launch_browser

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, ViewportSize

sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need Playwright's Python package "
                               "(pip install playwright; it is in the `test` extra)")


@pytest.fixture(scope="module")
def browser(service: SearchService, request: pytest.FixtureRequest) -> Iterator[tuple[str, Browser]]:
    """The seeds, indexed with the real model, in a browser, served by one process or, in modules marked
    `every_process_model()`, by `serve --workers N` too, whose page's events reach whichever worker takes them."""
    yield from launch_browser(service, workers=getattr(request, "param", 1))


OpenPage = Callable[..., "Page"]


@pytest.fixture
def open_page(browser: tuple[str, Browser]) -> Iterator[OpenPage]:
    """`open_page(viewport=..., locale=..., path=...)`: a fresh page in its own browser context, once wired."""
    url, chromium = browser
    contexts = []

    def opened(viewport: ViewportSize = DESKTOP, locale: str = "en-US", path: str = "/") -> Page:
        context = chromium.new_context(viewport=viewport, locale=locale)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        sync_api.expect.set_options(timeout=WAIT_MS)
        page.goto(url + path)
        if path == "/":
            page.locator("html[data-ready=true]").wait_for(state="attached")
        return page

    yield opened
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page: OpenPage) -> Page:
    """The page on a desktop window, in English."""
    return open_page()


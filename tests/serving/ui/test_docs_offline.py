"""The API's docs page works with no way out to the internet: its files are served from this server."""
from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Route

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


def only_this_machine(route: Route) -> None:
    if urlsplit(route.request.url).hostname == "127.0.0.1":
        route.continue_()
    else:
        route.abort()


def test_the_docs_render_with_every_outside_request_blocked(open_page) -> None:
    """/docs must render offline: Swagger UI loads its files from a CDN unless the server serves them itself."""
    page = open_page()
    page.context.route("**/*", only_this_machine)
    page.get_by_role("link", name="JSON API for programs").click()
    page.wait_for_url("**/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("story-search")
    expect(page.locator(".swagger-ui .opblock").filter(has_text="/api/search").first).to_be_visible()

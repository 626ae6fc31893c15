"""The real server on a loopback port: the page, the API and the UI's Gradio endpoints, served concurrently."""
from __future__ import annotations

import dataclasses
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

from search.cli import main
from search.retrieval._service import SearchService
from search.serving import serve_in_background
from search.serving._server import loopback_socket
from tests.helpers import SMUGGLING, TOPIC_QUESTION

AT_ONCE = 3  # requests that must all be in the service together


PUBLIC_NAME = "stories.example"  # a name the operator allowed, as for a server reached from other machines


@pytest.fixture(scope="module")
def base_url(service: SearchService) -> Iterator[str]:
    with pytest.MonkeyPatch.context() as env:  # settings are read once, when the app is made
        env.setenv("STORY_SEARCH_ALLOWED_HOSTS", PUBLIC_NAME)
        with serve_in_background(service) as url:
            yield url


@pytest.fixture(scope="module")
def ui_client(base_url: str) -> Client:
    return Client(base_url + "/", verbose=False)


def search_ui(client: Client, question: str, k: int = 5) -> tuple[str, str]:
    """(status, cards) of the page's search (it also answers the date boxes as applied and the map's points)."""
    return client.predict(question, [], None, None, k, "hybrid", api_name="/search")[:2]


def test_one_server_answers_the_page_the_api_and_the_docs(base_url: str, service: SearchService) -> None:
    assert httpx.get(f"{base_url}/api/health").json()["stories"] == len(service.index)
    page = httpx.get(f"{base_url}/")
    assert page.status_code == 200 and service.index.config.name in page.text
    assert "/api/search" in httpx.get(f"{base_url}/openapi.json").json()["paths"]
    assert httpx.get(f"{base_url}/docs").status_code == 200
    missing = httpx.get(f"{base_url}/api/no-such-endpoint")  # the API's 404, not the web UI's
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_the_ui_mounted_after_start_up_keeps_cors_closed(base_url: str) -> None:
    """Reached by a public name, Gradio's own CORS would let any origin in: the app's closed policy wins."""
    for path in ("/", "/config", "/gradio_api/info"):
        answer = httpx.get(base_url + path, headers={"Origin": "https://evil.example", "Host": PUBLIC_NAME})
        assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers, path


def test_gradio_client_calls_the_ui_search(ui_client: Client) -> None:
    assert {"/search", "/related"} <= set(ui_client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    status, cards = search_ui(ui_client, SMUGGLING)
    assert "5 stories" in status
    assert cards.count('class="card"') == 5 and "smuggling" in cards.lower()


def test_ui_filters_reach_the_search(ui_client: Client, service: SearchService) -> None:
    status, cards, *_ = ui_client.predict(SMUGGLING, ["Belize"], "2020-01-01", "2021-12-31", 5, "dense",
                                          api_name="/search")
    ids = re.findall(r'data-id="([^"]+)"', cards)
    assert ids, status
    for story in map(service.story, ids):
        assert "Belize" in story.countries and story.date and "2020-01-01" <= story.date <= "2021-12-31"


def test_ui_spread_topics_reaches_the_search(ui_client: Client, service: SearchService) -> None:
    _, cards, *_ = ui_client.predict(TOPIC_QUESTION, [], None, None, 10, "hybrid", True, api_name="/search")
    want = [h.story.id for h in service.search(TOPIC_QUESTION, 10, diversify=True).hits]
    assert re.findall(r'data-id="([^"]+)"', cards) == want


def test_gradio_client_calls_related_stories(ui_client: Client, service: SearchService) -> None:
    top = service.search(SMUGGLING, 1).hits[0].story
    panel = ui_client.predict(top.id, api_name="/related")
    assert "Related to" in panel and panel.count('class="card"') == 5
    assert f'data-id="{top.id}"' not in panel  # never the story itself


def test_ui_says_when_no_story_answers(ui_client: Client, service: SearchService,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The service decides (the quality work owns that); the page must give the decision its place."""
    search = service.search
    monkeypatch.setattr(service, "search", lambda *a, **kw: dataclasses.replace(search(*a, **kw), answerable=False))
    status, cards = search_ui(ui_client, "recipes for chocolate cake")
    assert "No story answers this closely; the nearest stories are shown." in status
    assert cards.count('class="card"') == 5  # the nearest stories are still shown


def test_ui_shows_errors_as_messages(ui_client: Client) -> None:
    status, cards = search_ui(ui_client, "")  # no question: the newest stories, to browse
    assert "The newest stories: 5 of 44 stories" in status and cards.count('class="card"') == 5
    status, cards = search_ui(ui_client, "x" * 2001)
    assert 'role="alert"' in status and "limit is 2,000" in status and "Traceback" not in status
    panel = ui_client.predict("no-such-story", api_name="/related")
    assert 'role="alert"' in panel and "no story with id" in panel


def _in_step(service: SearchService, monkeypatch: pytest.MonkeyPatch) -> threading.Barrier:
    """Make every search wait until AT_ONCE of them are running: served one at a time, they would time out."""
    barrier = threading.Barrier(AT_ONCE, timeout=20)
    search = service.search

    def waiting_search(*args, **kwargs):
        barrier.wait()
        return search(*args, **kwargs)

    monkeypatch.setattr(service, "search", waiting_search)
    return barrier


def test_api_serves_clients_concurrently(base_url: str, service: SearchService,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    _in_step(service, monkeypatch)
    with ThreadPoolExecutor(AT_ONCE) as pool:
        responses = list(pool.map(lambda i: httpx.get(f"{base_url}/api/search", params={"q": f"migrants {i}"},
                                                      timeout=30), range(AT_ONCE)))
    assert [r.status_code for r in responses] == [200] * AT_ONCE


def test_ui_serves_clients_concurrently(ui_client: Client, service: SearchService,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _in_step(service, monkeypatch)
    jobs = [ui_client.submit(f"migrants {i}", [], None, None, 3, "hybrid", api_name="/search") for i in range(AT_ONCE)]
    statuses = [job.result(timeout=30)[0] for job in jobs]
    assert all("3 stories" in s for s in statuses), statuses


def test_serve_without_an_index_says_how_to_build_one(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["serve", "--index-dir", str(tmp_path / "missing")]) == 1
    assert "python -m search build" in capsys.readouterr().err


@pytest.mark.parametrize("args, variable, value, needle", [
    ([], "STORY_SEARCH_PORT", "abc", "STORY_SEARCH_PORT must be a port number from 1 to 65535, got 'abc'"),
    ([], "STORY_SEARCH_PORT", "70000", "STORY_SEARCH_PORT must be a port number from 1 to 65535, got '70000'"),
    (["--port", "70000"], "STORY_SEARCH_PORT", None, "port must be from 1 to 65535, got 70000"),
    (["--workers", "0"], "STORY_SEARCH_WORKERS", None, "--workers must be from 1 to 64, got 0"),
    ([], "STORY_SEARCH_WORKERS", "many", "STORY_SEARCH_WORKERS must be a whole number from 1 to 64, got 'many'"),
    ([], "STORY_SEARCH_WORKERS", "65", "STORY_SEARCH_WORKERS must be from 1 to 64, got 65"),
], ids=["port-env-not-a-number", "port-env-too-big", "port-argument-too-big", "workers-flag-zero",
        "workers-env-not-a-number", "workers-env-too-many"])
def test_serve_with_a_bad_port_or_worker_count_says_so_before_opening_the_index(
        tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, args: list[str],
        variable: str, value: str | None, needle: str) -> None:
    """The index is missing too: the settings are checked first, so a typo fails at once, not after the model
    loads."""
    if value is None:
        monkeypatch.delenv(variable, raising=False)
    else:
        monkeypatch.setenv(variable, value)
    assert main(["serve", "--index-dir", str(tmp_path / "missing"), *args]) == 1
    err = capsys.readouterr().err
    assert err == f"error: {needle}\n", err


def _ui_loading_until(released: threading.Event, monkeypatch: pytest.MonkeyPatch, fail: bool = False) -> None:
    """Hold the background UI build (Gradio's imports, in production) until `released` is set."""
    from search.serving import ui

    mount_ui = ui.mount_ui

    def slow_mount_ui(*args, **kwargs):
        released.wait(30)
        if fail:
            raise RuntimeError("broken UI")
        return mount_ui(*args, **kwargs)

    monkeypatch.setattr(ui, "mount_ui", slow_mount_ui)


def _page_when(url: str, ready: Callable[[httpx.Response], bool], timeout: float = 30) -> httpx.Response:
    """GET the page until `ready` says so (the UI is mounted by a background task), or the time is up."""
    deadline = time.monotonic() + timeout
    while not ready(page := httpx.get(url + "/")) and time.monotonic() < deadline:
        time.sleep(0.05)
    return page


def test_api_answers_while_the_page_is_still_starting(service: SearchService,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    released = threading.Event()
    _ui_loading_until(released, monkeypatch)
    with serve_in_background(service, wait_for_ui=False) as url:
        page = httpx.get(url + "/")
        assert page.status_code == 503 and "Starting" in page.text and page.headers["retry-after"] == "1"
        assert httpx.get(f"{url}/api/search", params={"q": SMUGGLING}).status_code == 200
        released.set()
        page = _page_when(url, lambda page: page.status_code == 200)
        assert page.status_code == 200 and "gradio" in page.text.lower()
        status, *_ = Client(url + "/", verbose=False).predict(SMUGGLING, [], None, None, 2, "hybrid",
                                                            api_name="/search")
        assert "2 stories" in status


def test_a_page_that_fails_to_start_leaves_the_api_serving(service: SearchService,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    released = threading.Event()
    released.set()
    _ui_loading_until(released, monkeypatch, fail=True)
    with serve_in_background(service, wait_for_ui=False) as url:
        page = _page_when(url, lambda page: "failed" in page.text)
        assert page.status_code == 503 and "failed to start" in page.text and "Traceback" not in page.text
        assert httpx.get(f"{url}/api/search", params={"q": SMUGGLING}).status_code == 200


def test_a_server_in_a_thread_sends_small_writes_at_once() -> None:
    """Nagle's algorithm would hold a response's body until the client acknowledged its headers (a delayed ACK
    on every request); connections accepted from this socket inherit the option that turns it off."""
    with loopback_socket() as sock:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        assert sock.getsockname()[0] == "127.0.0.1"

"""Bad input over HTTP (the JSON API, as served with the UI) and through the web UI's handlers.

Every refusal is a 4xx in the one error format; every unusual but valid question is answered.
"""
from __future__ import annotations

import pytest

from search import SearchService
from tests.helpers import assert_api_error

JSON: dict[str, str] = {"content-type": "application/json"}
MB = 1_000_000


def _chunks(total: int, size: int = 100_000):
    """A body sent without Content-Length (chunked), so only counting the bytes can cap it."""
    for _ in range(total // size):
        yield b" " * size


# (method, path, request keyword arguments, expected status, expected error code or None for any)
REFUSED = {
    "empty-q": ("GET", "/api/search", dict(params={"q": ""}), 422, "invalid_request"),
    "whitespace-q": ("GET", "/api/search", dict(params={"q": " \t\n "}), 422, "invalid_query"),
    "NUL-q": ("GET", "/api/search?q=%00", {}, 422, "invalid_query"),
    "control-q": ("GET", "/api/search?q=%01%07%1B%7F", {}, 422, "invalid_query"),
    "invalid-utf8-query-string": ("GET", "/api/search?q=%FF%FE%FD", {}, 422, "invalid_query"),
    "invalid-utf8-body": ("POST", "/api/search", dict(content=b'{"q": "\xff\xfe smuggling"}', headers=JSON), 400, None),
    "lone-surrogate-escape": ("POST", "/api/search", dict(content=rb'{"q": "\ud800"}', headers=JSON), 422, None),
    "long-q": ("POST", "/api/search", dict(json={"q": "x" * 100_000}), 422, "invalid_request"),
    "1MB-q": ("POST", "/api/search", dict(json={"q": "x" * MB}), 413, "body_too_large"),
    "k-0": ("GET", "/api/search", dict(params={"q": "smuggling", "k": 0}), 422, "invalid_request"),
    "k-negative": ("GET", "/api/search", dict(params={"q": "smuggling", "k": -1}), 422, "invalid_request"),
    "k-1e9": ("GET", "/api/search", dict(params={"q": "smuggling", "k": 10**9}), 422, "invalid_request"),
    "k-abc": ("GET", "/api/search", dict(params={"q": "smuggling", "k": "abc"}), 422, "invalid_request"),
    "k-float-json": ("POST", "/api/search", dict(json={"q": "smuggling", "k": 2.5}), 422, "invalid_request"),
    "k-string-json": ("POST", "/api/search", dict(json={"q": "smuggling", "k": "5"}), 422, "invalid_request"),
    "k-huge-json": ("POST", "/api/search", dict(json={"q": "smuggling", "k": 10**30}), 422, "invalid_request"),
    "k-NaN": ("POST", "/api/search", dict(content=b'{"q": "smuggling", "k": NaN}', headers=JSON), 422, None),
    "bad-mode": ("GET", "/api/search", dict(params={"q": "smuggling", "mode": "fuzzy"}), 422, "invalid_request"),
    "bad-date": ("GET", "/api/search", dict(params={"q": "smuggling", "date_from": "2020-13-01"}), 422, None),
    "reversed-dates": ("GET", "/api/search",
                       dict(params={"q": "x", "date_from": "2024-01-01", "date_to": "2020-01-01"}),
                       422, "invalid_query"),
    "misspelt-field": ("POST", "/api/search", dict(json={"q": "smuggling", "date_form": "2020-01-01"}), 422, None),
    "malformed-json": ("POST", "/api/search", dict(content=b'{"q": ', headers=JSON), 422, "invalid_json"),
    "empty-body": ("POST", "/api/search", dict(content=b"", headers=JSON), 422, None),
    "json-null": ("POST", "/api/search", dict(content=b"null", headers=JSON), 422, None),
    "json-array": ("POST", "/api/search", dict(json=["smuggling"]), 422, None),
    "text-plain": ("POST", "/api/search", dict(content=b'{"q": "smuggling"}', headers={"content-type": "text/plain"}),
                   422, None),
    "form-encoded": ("POST", "/api/search", dict(data={"q": "smuggling"}), 422, None),
    "oversized-declared": ("POST", "/api/embed", dict(content=b" " * (2 * MB), headers=JSON), 413, "body_too_large"),
    "oversized-chunked": ("POST", "/api/embed", dict(content=_chunks(3 * MB), headers=JSON), 413, "body_too_large"),
    "content-length-not-a-number": ("POST", "/api/search", dict(content=b'{"q": "smuggling"}',
                                    headers=JSON | {"content-length": "abc"}), 400, "invalid_content_length"),
    "content-length-negative": ("POST", "/api/search", dict(content=b'{"q": "smuggling"}',
                                headers=JSON | {"content-length": "-1"}), 400, "invalid_content_length"),
    "embed-too-many": ("POST", "/api/embed", dict(json={"texts": ["a"] * 65}), 422, "invalid_request"),
    "embed-none": ("POST", "/api/embed", dict(json={"texts": []}), 422, "invalid_request"),
    "embed-NUL": ("POST", "/api/embed", dict(json={"texts": ["\x00"]}), 422, "invalid_request"),
    "embed-too-long": ("POST", "/api/embed", dict(json={"texts": ["x" * 20_001]}), 422, "invalid_request"),
    "similarity-mixed": ("POST", "/api/similarity", dict(json={"a": "x", "texts": ["y"]}), 422, "invalid_request"),
    "similarity-half": ("POST", "/api/similarity", dict(json={"a": "x"}), 422, "invalid_request"),
    "unknown-id": ("GET", "/api/stories/no-such-story", {}, 404, "unknown_story"),
    "NUL-id": ("GET", "/api/stories/%00", {}, 404, "unknown_story"),
    "long-id": ("GET", "/api/stories/" + "a" * 5000, {}, 404, "unknown_story"),
    "path-id": ("GET", "/api/stories/..%2F..%2Fetc%2Fpasswd", {}, 404, None),
    "similar-unknown": ("GET", "/api/stories/no-such-story/similar", {}, 404, "unknown_story"),
    "similar-k-0": ("GET", "/api/stories/x/similar?k=0", {}, 422, "invalid_request"),
    "page-negative": ("GET", "/api/stories?offset=-1", {}, 422, "invalid_request"),
    "page-huge": ("GET", "/api/stories?limit=1000000", {}, 422, "invalid_request"),
    "wrong-method": ("PUT", "/api/search", {}, 405, "method_not_allowed"),
    "unknown-endpoint": ("GET", "/api/nothing-here", {}, 404, "not_found"),
    "deeply-nested-json": ("POST", "/api/search", dict(content=b"[" * 100_000 + b"]" * 100_000, headers=JSON), 422,
                           "invalid_json"),
    "deeply-nested-field": ("POST", "/api/embed", dict(content=b'{"texts": ' + b"[" * 100 + b"]" * 100 + b"}",
                                                       headers=JSON), 422, "invalid_json"),
    "unknown-parameter-page": ("GET", "/api/stories?limt=5", {}, 422, "invalid_request"),
    "unknown-parameter-similar": ("GET", "/api/stories/x/similar?kk=2", {}, 422, "invalid_request"),
    "unknown-parameter-health": ("GET", "/api/health?verbose=1", {}, 422, "invalid_request"),
    "unknown-parameter-search": ("GET", "/api/search?q=smuggling&top=3", {}, 422, "invalid_request"),
}


@pytest.mark.parametrize("method, path, kwargs, status, code", REFUSED.values(), ids=REFUSED.keys())
def test_bad_request_is_refused_in_the_error_format(app_client, method: str, path: str, kwargs: dict, status: int,
                                                   code: str | None):
    assert_api_error(app_client.request(method, path, **kwargs), status, code)


VALID = {
    "emoji": "🚀🌍 migrant smuggling 🛂",
    "arabic": "تهريب المهاجرين في بنما",
    "hebrew": "הברחת מהגרים בקוסטה ריקה",
    "rtl-override": "smuggling \u202epolice\u202c Panama",
    "embedded-NUL": "police\x00training against smuggling",
}


@pytest.mark.parametrize("question", VALID.values(), ids=VALID.keys())
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_unusual_but_valid_question_is_answered(app_client, question: str, method: str):
    kwargs = dict(params={"q": question, "k": 3}) if method == "GET" else dict(json={"q": question, "k": 3})
    response = app_client.request(method, "/api/search", **kwargs)
    assert response.status_code == 200, response.text
    assert len(response.json()["hits"]) == 3


# --- the web UI's handlers, called as Gradio calls them -------------------------------------------------------
@pytest.fixture(scope="module")
def ui_handlers(service: SearchService) -> dict:
    from search.serving.ui._page import create_ui

    blocks = create_ui(service)
    return {f.api_name: f.fn for f in blocks.fns.values() if f.api_name in ("search", "related")}


UI_SEARCHES = {
    "1MB-question": (("x" * MB, None, None, None, 10, "hybrid"), "limit is"),
    "control-only": (("\x00\x07", None, None, None, 10, "hybrid"), "empty"),
    "k-0": (("smuggling", None, None, None, 0, "hybrid"), "k must be"),
    "k-huge": (("smuggling", None, None, None, 10**9, "hybrid"), "k must be"),
    "bad-date": (("smuggling", None, "2020-13-45", None, 10, "hybrid"), "From date: “2020-13-45” is not a real day"),
    "bad-mode": (("smuggling", None, None, None, 10, "fuzzy"), "mode must be one of"),
}


@pytest.mark.parametrize("args, message", UI_SEARCHES.values(), ids=UI_SEARCHES.keys())
def test_ui_shows_a_message_for_bad_input(ui_handlers: dict, args: tuple, message: str):
    status, cards, *_ = ui_handlers["search"](*args)  # then the date boxes as applied and the map's points
    assert message in status and cards == "" and "Traceback" not in status


@pytest.mark.parametrize("question", VALID.values(), ids=VALID.keys())
def test_ui_answers_unusual_but_valid_questions(ui_handlers: dict, question: str):
    status, cards, *_ = ui_handlers["search"](question, None, None, None, 3, "hybrid")
    assert "error" not in status.lower() and cards.count("data-story") >= 3


@pytest.mark.parametrize("story_id", ["no-such-story", "", "\x00", "../../etc/passwd"])
def test_ui_related_panel_explains_an_unknown_story(ui_handlers: dict, story_id: str):
    _, html = ui_handlers["related"](story_id)
    assert "no story with id" in html


@pytest.mark.parametrize("path", ["/api/", "/api/stories/x/similar/extra", "/api/search/"])
def test_wrong_api_path_answers_json_not_the_ui_page(app_client, path: str):
    """The UI is mounted at /, so a wrong /api path must not fall through to its HTML pages."""
    response = app_client.get(path)
    assert 400 <= response.status_code < 500
    assert_api_error(response, response.status_code)

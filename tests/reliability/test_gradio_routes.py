"""Gradio's routes answer client mistakes with a 4xx in the one error shape, no traceback logged: each
malformed call the red team found, the routes the page has no use for, then hypothesis over every route
Gradio serves, with bodies from random JSON to near-valid calls of the page's own functions."""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Mount

from search import SearchService
from search.serving import serve_in_background
from tests.helpers import assert_api_error


@pytest.fixture(scope="module")
def served(hashed_service: SearchService) -> Iterator[tuple[str, Any]]:
    """(base URL, the Gradio app) of the app `serve` runs."""
    with serve_in_background(hashed_service) as url:
        yield url, None


@pytest.fixture
def quiet(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    """Fails the test if the server logged a traceback or an error while it ran."""
    caplog.set_level(logging.INFO)
    yield
    printed = capfd.readouterr()
    logged = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not logged, [r.getMessage() for r in logged]
    assert "Traceback" not in printed.err + printed.out + caplog.text


SEARCH = ["police", [], "", "", 10, "hybrid", False]
FOUND = {  # the red team's findings, and what they get now
    "run-without-data": ("/gradio_api/run/search", {"data": []}, 422, "invalid_request"),
    "queue-unknown-fn": ("/gradio_api/queue/join", {"data": [], "fn_index": 999, "session_hash": "abc"}, 404,
                         "not_found"),
    "call-unknown-name": ("/gradio_api/call/nope", {"data": []}, 404, "not_found"),
    "run-predict": ("/gradio_api/run/predict", {"data": ["x"]}, 404, "not_found"),
    "component-server-unknown-id": ("/gradio_api/component_server", {"session_hash": "x", "component_id": 99999,
                                                                     "fn_name": "points", "data": "en"}, 404,
                                    "not_found"),
    "lone-surrogate": ("/gradio_api/call/search", '{"data": ["\\ud800", [], "", "", 10, "hybrid", false]}', 422,
                       "invalid_json"),
    "wrong-type": ("/gradio_api/call/search", {"data": ["police", [], "", "", "ten", "hybrid", False]}, 422,
                   "invalid_request"),
    "not-a-choice": ("/gradio_api/run/search", {"data": ["police", ["Atlantis"], "", "", 10, "hybrid", False]}, 422,
                     "invalid_request"),
    "nan": ("/gradio_api/run/search", '{"data": ["police", [], "", "", NaN, "hybrid", false]}', 422,
            "invalid_json"),
    "example-out-of-range": ("/gradio_api/queue/join", {"data": [99], "fn_index": "examples", "session_hash": "abc"},
                             422, "invalid_request"),
    "private-function-by-name": ("/gradio_api/run/on_load", {"data": []}, 404, "not_found"),
    "named-path-other-index": ("/gradio_api/api/search", {"data": SEARCH, "fn_index": "examples",
                                                          "session_hash": "fuzz"}, 422, "invalid_request"),
    "deep-json": ("/gradio_api/queue/join", "[" * 100_000, 422, "invalid_json"),
}


@pytest.mark.parametrize("path, body, status, code", FOUND.values(), ids=FOUND.keys())
def test_a_malformed_call_is_a_4xx_in_the_error_shape(served: tuple[str, Any], quiet: None, path: str, body: Any,
                                                      status: int, code: str):
    url, _ = served
    if isinstance(body, dict) and body.get("fn_index") == "examples":
        body = {**body, "fn_index": _examples_function(url)}
    sent = {"content": body, "headers": {"Content-Type": "application/json"}} if isinstance(body, str) \
        else {"json": body}
    assert_api_error(httpx.post(url + path, **sent), status, code)


def test_each_page_function_called_by_index_answers_without_a_server_error(served: tuple[str, Any], quiet: None):
    """The run route takes a function by index (the page's own events do this under workers): each one,
    called with empty values and no event data, is refused or answered, never a 500 or a logged error."""
    url, _ = served
    config = httpx.get(url + "/config").json()
    for index, function in enumerate(config["dependencies"]):
        if function.get("backend_fn"):
            answer = httpx.post(url + "/gradio_api/run/predict", timeout=60, json={
                "fn_index": index, "data": [None] * len(function["inputs"]), "session_hash": "fuzz"})
            assert answer.status_code < 500, (index, function.get("api_name"), answer.text[:200])


def _examples_function(url: str) -> int:
    """The index of the page's function that a click on an example question runs (its one input: the list)."""
    config = httpx.get(url + "/config").json()
    lists = {c["id"] for c in config["components"] if c["type"] == "dataset"}
    return next(i for i, d in enumerate(config["dependencies"]) if d["inputs"] and set(d["inputs"]) <= lists)


REFUSED_GETS = {
    "file-by-url": "/gradio_api/file=https://example.org/x",  # Gradio would fetch it
    "proxy": "/gradio_api/proxy=https://example.hf.space/x",
    "heartbeat": "/gradio_api/heartbeat/abc",  # a stream held open for as long as the client likes
    "unknown-session-stream": "/gradio_api/queue/data?session_hash=nobody",  # a 500 after its 200
    "unknown-event-stream": "/gradio_api/call/search/no-such-event",
    "upload-progress": "/gradio_api/upload_progress?upload_id=x",
    "monitoring": "/monitoring",
    "custom-component": "/gradio_api/custom_component/a/b/c/d",
}


@pytest.mark.parametrize("path", REFUSED_GETS.values(), ids=REFUSED_GETS.keys())
def test_routes_the_page_does_not_use_are_refused(served: tuple[str, Any], quiet: None, path: str):
    with httpx.stream("GET", served[0] + path, timeout=30) as response:
        assert response.status_code >= 400, "answered (a stream would never end)"
        response.read()
    assert_api_error(response, 404, "not_found")


def test_the_page_s_own_calls_still_work(served: tuple[str, Any], quiet: None):
    """A named call and its result stream, as curl users of Gradio's HTTP API make them."""
    url, _ = served
    event = httpx.post(f"{url}/gradio_api/call/search", json={"data": SEARCH}).json()["event_id"]
    with httpx.stream("GET", f"{url}/gradio_api/call/search/{event}", timeout=60) as stream:
        text = "".join(stream.iter_text())
    assert "event: complete" in text and "stories" in text


# --- hypothesis over every route Gradio serves ------------------------------------------------------------
def _gradio_routes(app: Any) -> list[tuple[str, str]]:
    """(method, path template) of every route of the Gradio app, however deep it is mounted."""
    found = []
    for route in getattr(app, "routes", []):
        if isinstance(route, Mount):
            found += _gradio_routes(route.app)
        elif getattr(route, "path", None):
            found += [(m, route.path) for m in sorted(getattr(route, "methods", None) or ()) if m != "HEAD"]
        elif hasattr(route, "original_router"):  # an included router
            found += _gradio_routes(route.original_router)
    return found


def _routes(service: SearchService) -> list[tuple[str, str]]:
    from fastapi import FastAPI

    from search.serving.ui import mount_ui

    return [r for r in _gradio_routes(mount_ui(FastAPI(), service)) if not r[1].startswith(("/api/", "/docs"))]


SCALARS = st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False, allow_infinity=False) \
    | st.text()
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=8) | st.dictionaries(st.text(max_size=12), inner,
                                                                                  max_size=6), max_leaves=30)
VALUES: st.SearchStrategy[Any] = st.sampled_from(["police", "", None, 10, 0, -1, 1e9, 2.5, True, [], ["Panama"], ["x"],
                                                  "hybrid", "dense", {}])
# fn_index: one good set of values
VALID: dict[int, list[Any]] = {1: SEARCH, 2: [0], 4: SEARCH, 6: [], 7: ["no-such-story"], 9: []}


@st.composite
def _near_valid(draw: st.DrawFn) -> dict[str, Any]:
    """A call of one of the page's functions with its values, one of them perhaps swapped for another."""
    fn_index = draw(st.sampled_from(sorted(VALID)))
    values = list(VALID[fn_index])
    if bool(values) and draw(st.booleans()):
        values[draw(st.integers(0, len(values) - 1))] = draw(VALUES | JSON)
    extra = draw(st.fixed_dictionaries({}, optional={
        "session_hash": st.sampled_from(["abc", "", "a/b", None]), "trigger_id": st.integers(-1, 40) | st.none(),
        "event_data": st.none() | JSON, "batched": st.booleans(), "simple_format": st.booleans()}))
    return {"fn_index": fn_index, "data": values, "session_hash": "fuzz", **extra}


CALL = st.fixed_dictionaries({"data": st.lists(VALUES, max_size=9)}, optional={
    "fn_index": st.integers(-1, 14), "session_hash": st.sampled_from(["abc", "", "a/b", None]),
    "trigger_id": st.integers(-1, 40) | st.none(), "event_data": st.none() | JSON})
COMPONENT = st.fixed_dictionaries({"session_hash": st.text(max_size=5), "component_id": st.integers(-1, 300),
                                   "fn_name": st.sampled_from(["points", "__init__", "x"]), "data": JSON})
CANCEL = st.fixed_dictionaries({"session_hash": st.sampled_from(["fuzz", "x"]), "fn_index": st.integers(-1, 12),
                                "event_id": st.text(max_size=8)})
SEGMENT = st.sampled_from(["search", "related", "search", "related", "on_load", "x", "..", "abc"]) | st.text(
    st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="/?#%"), min_size=1, max_size=12)
WRITES = ["/gradio_api/queue/join", "/gradio_api/run/{name}", "/gradio_api/call/{name}", "/gradio_api/api/{name}",
          "/gradio_api/component_server", "/gradio_api/cancel"]  # the writes the page may make


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_gradio_route_answers_fuzz_without_a_server_error(served: tuple[str, Any], hashed_service: SearchService,
                                                                caplog: pytest.LogCaptureFixture, data: st.DataObject):
    url, _ = served
    writes = st.tuples(st.just("POST"), st.sampled_from(WRITES))
    method, template = data.draw(st.one_of(st.sampled_from(_routes_cached(hashed_service)), writes, writes))
    path = re.sub(r"\{[^}]+\}", lambda _: data.draw(SEGMENT), template)
    query = data.draw(st.sampled_from(["", "?session_hash=abc", "?session_hash=fuzz", "?x=1"]))
    body = data.draw(st.one_of(_near_valid(), CALL, COMPONENT, CANCEL, JSON)) if method == "POST" else None
    caplog.clear()
    with httpx.Client(timeout=httpx.Timeout(30)) as client, \
            client.stream(method, url + path + query, json=body if method == "POST" else None) as response:
        status = response.status_code
        content = response.read() if status >= 400 else b""
    assert status < 500, (method, path, body, status, content[:300])
    if status >= 400 and status != 304:
        error = json.loads(content)["error"]
        assert set(error) == {"code", "message"}
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR], (method, path, body)


_CACHE: dict[int, list[tuple[str, str]]] = {}


def _routes_cached(service: SearchService) -> list[tuple[str, str]]:
    if id(service) not in _CACHE:
        _CACHE[id(service)] = _routes(service)
    return _CACHE[id(service)]

"""The request policy of the real server on 127.0.0.1: what any client can send to any route (API, web UI,
docs) and what it gets back. One server for the module; raw sockets where the request is not valid HTTP.

Each test holds one way a client could abuse or confuse the server: uploads to Gradio, foreign Host headers and
forwarded headers, error shapes outside the app, HEAD, ids ending in /similar, writes starving searches.
"""
from __future__ import annotations

import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from search import SearchService
from search.serving import serve_in_background
from tests.helpers import AUTH, TOKEN, assert_api_error

MB = 1_000_000
EVIL = "https://evil.example"


@pytest.fixture(scope="module")
def url(hashed_service: SearchService) -> Iterator[str]:
    with pytest.MonkeyPatch.context() as env:  # the settings in force, whatever the machine has set
        for name in ("STORY_SEARCH_ALLOWED_HOSTS", "STORY_SEARCH_TRUSTED_PROXIES", "STORY_SEARCH_CORS_ORIGINS"):
            env.delenv(name, raising=False)
        with serve_in_background(hashed_service) as base:
            yield base


def _raw(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (no client library would send them) and read the answer to its end."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


# --- 1. anonymous writes to Gradio's routes, and bodies without a cap ---------------------------------------
def _uploads() -> set[Path]:
    folder = Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio")
    return set(folder.rglob("*")) if folder.is_dir() else set()


@pytest.mark.parametrize("origin", [None, EVIL], ids=["same-site", "cross-site"])
def test_a_20MB_upload_to_the_web_ui_is_refused_and_stores_nothing(url: str, origin: str | None):
    before = _uploads()
    headers = {"Origin": origin} if origin else {}
    response = httpx.post(f"{url}/gradio_api/upload", files={"files": ("big.bin", b"x" * (20 * MB))},
                          headers=headers, timeout=120)
    assert_api_error(response, 403, "forbidden")
    assert _uploads() == before


@pytest.mark.parametrize("path", ["/gradio_api/upload", "/gradio_api/process_recording", "/gradio_api/stream/x",
                                  "/gradio_api/reset", "/login", "/config", "/gradio_api/vibe-edit"])
def test_the_web_ui_takes_no_writes_but_its_own(url: str, path: str):
    assert_api_error(httpx.post(url + path, content=b"{}", headers={"content-type": "application/json"}), 403,
                     "forbidden")


def test_a_20MB_body_to_gradio_s_queue_is_refused(url: str):
    body = json.dumps({"data": ["x" * (20 * MB)], "fn_index": 0, "session_hash": "abc"}).encode()
    response = httpx.post(f"{url}/gradio_api/queue/join", content=body, headers={"content-type": "application/json"},
                          timeout=120)
    assert_api_error(response, 413, "body_too_large")


def test_a_chunked_body_over_the_cap_is_refused_outside_the_api_too(app_client):
    def chunks():
        for _ in range(30):
            yield b" " * 100_000

    response = app_client.post("/gradio_api/queue/join", content=chunks(), headers={"content-type": "application/json"})
    assert_api_error(response, 413, "body_too_large")


# --- 2. the Host allowlist and forwarded headers ------------------------------------------------------------
@pytest.mark.parametrize("path", ["/api/search?q=smuggling", "/api/health", "/config", "/", "/docs", "/openapi.json"])
@pytest.mark.parametrize("host", ["rebind.attacker.example", "127.0.0.1.attacker.example", "localhost.:1@evil"])
def test_a_foreign_host_is_refused_before_any_route(url: str, path: str, host: str):
    response = httpx.get(url + path, headers={"Host": host})
    message = assert_api_error(response, 421, "unknown_host")
    assert "STORY_SEARCH_ALLOWED_HOSTS" in message and "smuggling" not in response.text


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST", "[::1]", "localhost."])
def test_loopback_names_are_allowed_with_or_without_a_port(url: str, host: str):
    port = url.rsplit(":", 1)[1]
    for value in (host, f"{host}:{port}"):
        assert httpx.get(f"{url}/api/health", headers={"Host": value}).status_code == 200, value


def test_a_request_without_a_host_is_refused(url: str):
    status, headers, body = _raw(url, b"GET /api/health HTTP/1.0\r\n\r\n")
    assert status == 421 and headers["content-type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "unknown_host"


@pytest.mark.parametrize("header", ["X-Forwarded-Host", "Forwarded"])
def test_forwarded_headers_from_a_client_are_ignored(url: str, header: str):
    """Gradio writes the forwarded host into its config's root URL, which the page then calls."""
    value = "evil.example" if header == "X-Forwarded-Host" else "host=evil.example;proto=https"
    config = httpx.get(f"{url}/config", headers={header: value, "X-Forwarded-Proto": "https"})
    assert config.status_code == 200
    assert "evil.example" not in config.text and config.json()["root"].startswith("http://127.0.0.1:")


def test_a_configured_public_name_is_allowed(service: SearchService, monkeypatch: pytest.MonkeyPatch):
    from search.serving._server import create_app

    monkeypatch.setenv("STORY_SEARCH_ALLOWED_HOSTS", "stories.example.org, desk.example.org")
    web = TestClient(create_app(service), raise_server_exceptions=False)
    for host in ("stories.example.org", "desk.example.org:8443", "127.0.0.1"):
        assert web.get("/api/health", headers={"Host": host}).status_code == 200, host
    assert_api_error(web.get("/api/health", headers={"Host": "other.example.org"}), 421, "unknown_host")


async def _echo(scope, receive, send) -> None:
    """An app that answers with what reached it: the client, scheme and headers after the guard."""
    body = json.dumps({"client": scope["client"][0], "scheme": scope["scheme"],
                       "headers": {k.decode(): v.decode() for k, v in scope["headers"]}}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


def _through_guard(peer: str, headers: dict[str, str], proxies: tuple[str, ...]) -> httpx.Response:
    from search.serving._hosts import HostGuard
    from search.serving._settings import LOOPBACK_NAMES, Settings

    settings = Settings(allowed_hosts=LOOPBACK_NAMES | {"stories.example.org"}, trusted_proxies=proxies)
    transport = httpx.ASGITransport(app=HostGuard(_echo, settings), client=(peer, 40000))

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.get("/", headers=headers)

    import asyncio

    return asyncio.run(call())


FORWARDED = {"X-Forwarded-Host": "stories.example.org", "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}


def test_forwarded_headers_are_believed_only_from_a_configured_proxy():
    untrusted = _through_guard("127.0.0.1", FORWARDED, proxies=())
    seen = untrusted.json()
    assert seen["client"] == "127.0.0.1" and seen["scheme"] == "http"
    assert not {"x-forwarded-host", "x-forwarded-proto", "x-forwarded-for"} & set(seen["headers"])

    trusted = _through_guard("10.0.0.5", FORWARDED, proxies=("10.0.0.0/8",)).json()
    assert trusted["client"] == "203.0.113.7" and trusted["scheme"] == "https"
    assert trusted["headers"]["x-forwarded-host"] == "stories.example.org"


def test_a_proxy_cannot_forward_a_foreign_host():
    response = _through_guard("10.0.0.5", {**FORWARDED, "X-Forwarded-Host": "evil.example"}, proxies=("10.0.0.5",))
    assert_api_error(response, 421, "unknown_host")


@pytest.mark.parametrize("name, value", [
    ("STORY_SEARCH_ALLOWED_HOSTS", "https://stories.example.org"), ("STORY_SEARCH_ALLOWED_HOSTS", "*.example.org"),
    ("STORY_SEARCH_TRUSTED_PROXIES", "proxy.internal"), ("STORY_SEARCH_MAX_CONNECTIONS", "lots"),
    ("STORY_SEARCH_HEADER_TIMEOUT", "-1"), ("STORY_SEARCH_BODY_TIMEOUT", "0"),
])
def test_a_setting_that_cannot_work_stops_serve_before_the_index_loads(tmp_path: Path, name: str, value: str,
                                                                       monkeypatch: pytest.MonkeyPatch, capsys):
    from search.cli import main

    monkeypatch.setenv(name, value)
    assert main(["serve", "--index-dir", str(tmp_path / "missing")]) == 1  # the index is missing too
    err = capsys.readouterr().err
    assert err.startswith(f"error: {name}") and repr(value) in err and err.count("\n") == 1, err


# --- 6. one error shape, even where the app is never reached ------------------------------------------------
@pytest.mark.parametrize("length", [b"abc", b"-1", b"1e3", b"10, 12"])
def test_a_malformed_content_length_is_refused_in_the_error_shape(url: str, length: bytes):
    status, headers, body = _raw(url, b"POST /api/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                                      b"application/json\r\nContent-Length: " + length + b"\r\n\r\n{}")
    assert status == 400 and headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["code"] == "invalid_http" and "Content-Length" in error["message"]


def test_a_request_that_is_not_http_is_refused_in_the_error_shape(url: str):
    status, headers, body = _raw(url, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 hello TLS\r\n\r\n")
    assert status == 400 and json.loads(body)["error"]["code"] == "invalid_http"


REACHABLE = {
    "double-slash": ("GET", "//api/search?q=x", {}, 404, "not_found"),
    "unknown-page": ("GET", "/no-such-page", {}, 404, "not_found"),
    "unknown-method-api": ("FOO", "/api/search", {}, 501, "method_not_implemented"),
    "unknown-method-ui": ("PROPFIND", "/", {}, 501, "method_not_implemented"),
    "refused-preflight": ("OPTIONS", "/api/search", dict(headers={"Origin": EVIL, "Access-Control-Request-Method":
                                                                 "POST"}), 400, "cors_refused"),
    "refused-preflight-ui": ("OPTIONS", "/gradio_api/queue/join",
                             dict(headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"}), 400,
                             "cors_refused"),
    "gradio-404": ("GET", "/gradio_api/info/nothing", {}, 404, "not_found"),
    "gradio-405": ("DELETE", "/config", {}, 403, "forbidden"),
    "gradio-validation": ("POST", "/gradio_api/queue/join", dict(json={"data": "not a list"}), 422, None),
}


@pytest.mark.parametrize("method, path, kwargs, status, code", REACHABLE.values(), ids=REACHABLE.keys())
def test_every_refusal_a_client_can_reach_has_the_one_error_shape(url: str, method: str, path: str, kwargs: dict,
                                                                  status: int, code: str | None):
    assert_api_error(httpx.request(method, url + path, **kwargs), status, code)


@pytest.mark.parametrize("path", ["/api/health", "/api/search?q=smuggling", "/api/stories", "/api/stories/{id}",
                                  "/api/stories/{id}/similar", "/docs", "/openapi.json", "/", "/config",
                                  "/gradio_api/info", "/api/stories/no-such-story"])
def test_head_answers_every_get_route_with_its_status_and_no_body(url: str, hashed_service: SearchService, path: str):
    path = url + path.format(id=hashed_service.index.stories[0].id)
    got, head = httpx.get(path), httpx.head(path)
    assert head.status_code == got.status_code and head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]


def test_a_wrong_method_on_similar_names_the_right_one(url: str, hashed_service: SearchService):
    path = f"{url}/api/stories/{hashed_service.index.stories[0].id}/similar"
    for method in ("POST", "DELETE", "PUT"):
        response = httpx.request(method, path)
        assert_api_error(response, 405, "method_not_allowed")
        assert response.headers["allow"] == "GET, HEAD" and "DELETE" not in response.text


# --- 7. the write token ---------------------------------------------------------------------------------------
UTF8_TOKEN = "clé-secrète-ключ-0123456789"
STORY = {"title": "Boat crews trained in sea rescue", "body": "Crews of fishing boats learned to rescue migrants."}


def test_a_utf8_token_sent_as_utf8_is_accepted(hashed_copy: Path):
    from search.serving.api import create_api

    api = TestClient(create_api(SearchService.open(hashed_copy), write_token=UTF8_TOKEN),
                     raise_server_exceptions=False)
    sent = {b"Authorization": b"Bearer " + UTF8_TOKEN.encode("utf-8")}
    assert api.post("/api/stories", json=STORY, headers=sent).status_code == 200
    latin1 = {b"Authorization": b"Bearer " + UTF8_TOKEN.encode("utf-8").decode("latin-1").encode("utf-8")}
    assert_api_error(api.post("/api/stories", json=STORY, headers=latin1), 401, "unauthorized")


@pytest.mark.parametrize("value", [" ", "\t", "\n"])
def test_a_blank_token_switches_writes_off(service: SearchService, monkeypatch: pytest.MonkeyPatch, value: str):
    from search.serving._settings import Settings
    from search.serving.api import create_api

    monkeypatch.setenv("STORY_SEARCH_TOKEN", value)
    api = TestClient(create_api(service, Settings.from_env().write_token), raise_server_exceptions=False)
    for headers in ({}, {"Authorization": "Bearer  "}, AUTH):
        assert_api_error(api.post("/api/stories", json=STORY, headers=headers), 403, "writes_disabled")


@pytest.mark.parametrize("value, needle", [
    (f" {TOKEN}", "starts or ends with whitespace"), (f"{TOKEN}\n", "starts or ends with whitespace"),
    (f"{TOKEN[:5]}\x1b{TOKEN[5:]}", "control characters"),
], ids=["leading-space", "trailing-newline", "escape"])
def test_a_token_no_client_can_send_stops_serve_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys, value: str, needle: str):
    """Checked before the index loads: the index here is missing, and the token is what gets reported."""
    from search.cli import main

    monkeypatch.setenv("STORY_SEARCH_TOKEN", value)
    assert main(["serve", "--index-dir", str(tmp_path / "missing")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: STORY_SEARCH_TOKEN") and needle in err and err.count("\n") == 1, err
    assert TOKEN not in err  # the secret is never printed


# --- 8. ids ending in /similar ---------------------------------------------------------------------------------
@pytest.mark.parametrize("story_id", ["news/similar", "similar/news/similar"])
def test_an_id_ending_in_similar_is_refused_where_it_enters_the_api(writable, hashed_copy: Path, story_id: str):
    _, api = writable
    manifest = (hashed_copy / "manifest.json").read_bytes()
    message = assert_api_error(api.post("/api/stories", json=STORY | {"id": story_id}, headers=AUTH), 422)
    assert "/similar" in message and "rename" in message
    assert (hashed_copy / "manifest.json").read_bytes() == manifest


def test_ids_that_only_look_like_similar_are_kept_and_read_back(writable):
    _, api = writable
    for story_id in ("similar", "similar/news", "news/similarity"):
        story = {"id": story_id, "title": f"Story {story_id}", "body": f"A story of its own, filed as {story_id}."}
        response = api.post("/api/stories", json=story, headers=AUTH)
        assert response.status_code == 200, response.text
        assert api.get(f"/api/stories/{story_id}").json()["id"] == story_id


@pytest.mark.parametrize("name, text", [
    ("ids.jsonl", json.dumps({"id": "ok-1", "title": "A", "body": "B."}) + "\n"
                  + json.dumps({"id": "news/similar", "title": "C", "body": "D."}) + "\n"),
    ("ids.csv", "id,title,body\nok-1,A,B.\nnews/similar,C,D.\n"),
])
def test_an_id_ending_in_similar_is_refused_in_a_corpus_file(tmp_path: Path, name: str, text: str):
    from search import CorpusError, read_stories

    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(CorpusError, match='story id .news/similar. ends in "/similar"') as caught:
        read_stories([path])
    assert caught.value.line == 3 if name.endswith(".csv") else caught.value.line == 2


# --- 9. writes waiting for their turn leave the thread pool to searches -----------------------------------
def test_searches_are_answered_while_more_writes_wait_than_the_server_has_threads(hashed_copy: Path,
                                                                                  monkeypatch: pytest.MonkeyPatch):
    """Every write blocks until released; searches sent once the writes are in must all be answered: a write
    waiting for its turn must not hold one of the threads of the pool that searches share, or more waiting
    writes than the pool has threads would leave searches none."""
    from search.serving.api import _routes

    service = SearchService.open(hashed_copy)
    released, received, writes = threading.Event(), [], 48
    monkeypatch.setattr(service, "add", lambda *_a, **_kw: released.wait(60) and [])
    to_story = _routes._to_story

    def counted(story):
        received.append(1)
        return to_story(story)

    monkeypatch.setattr(_routes, "_to_story", counted)
    monkeypatch.setenv("STORY_SEARCH_TOKEN", TOKEN)
    with serve_in_background(service, wait_for_ui=False) as base:
        writers = [threading.Thread(target=httpx.post, args=(f"{base}/api/stories",),
                                    kwargs=dict(json=STORY, headers=AUTH, timeout=90)) for _ in range(writes)]
        try:
            for writer in writers:
                writer.start()
            deadline = time.monotonic() + 60
            while len(received) < 40 and time.monotonic() < deadline:  # as many as the pool has threads
                time.sleep(0.05)
            searches = [httpx.get(f"{base}/api/search", params={"q": "smuggling"}, timeout=20) for _ in range(3)]
        finally:
            released.set()
            for writer in writers:
                writer.join(timeout=90)
    assert len(received) >= 40 and [s.status_code for s in searches] == [200] * 3


def test_the_component_server_runs_only_what_the_page_registered(url: str):
    """The map's points come through Gradio's component server; it calls no function a component did not
    register, so letting the page use it opens nothing else."""
    body = {"session_hash": "x", "component_id": 1, "fn_name": "__init__", "data": None}
    response = httpx.post(f"{url}/gradio_api/component_server", json=body)
    assert response.status_code >= 400 and "Traceback" not in response.text

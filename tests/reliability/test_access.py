"""Who may change the collection: reading is open, writing needs the operator's token (compared in constant
time) and is off without one; the server binds to this machine and closes CORS unless told otherwise; no
path a client sends is ever opened.
"""
from __future__ import annotations

import hmac
import sys
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from search import SearchService
from search.collection import load_index
from search.serving._settings import Settings
from search.serving.api._routes import create_api
from tests.helpers import TOKEN, assert_api_error

STORY = {"title": "Ferry operators trained to spot trafficking victims on Lake Victoria",
         "body": "Crews of passenger ferries on Lake Victoria learned to recognise signs of human trafficking."}
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _reads(service: SearchService) -> list[tuple[str, str, dict]]:
    some_id = service.index.stories[0].id
    return [("GET", "/api/health", {}), ("GET", "/api/search", dict(params={"q": "smuggling"})),
            ("POST", "/api/search", dict(json={"q": "smuggling"})), ("GET", "/api/stories", {}),
            ("GET", f"/api/stories/{some_id}", {}), ("GET", f"/api/stories/{some_id}/similar", {}),
            ("POST", "/api/similarity", dict(json={"a": "floods", "b": "heavy rain"})),
            ("POST", "/api/embed", dict(json={"texts": ["floods"]}))]


def test_reading_needs_no_token(writable):
    service, api = writable
    for method, path, kwargs in _reads(service):
        assert api.request(method, path, **kwargs).status_code == 200, path


WRITES = [("POST", "/api/stories", dict(json=STORY)), ("DELETE", "/api/stories/{id}", {})]


@pytest.mark.parametrize("method, path, kwargs", WRITES, ids=["add", "delete"])
def test_writes_are_off_without_a_configured_token(app_client, service: SearchService, method: str, path: str,
                                                   kwargs: dict):
    before = len(service.index)
    for headers in ({}, AUTH, {"Authorization": "Bearer "}):
        response = app_client.request(method, path.format(id=service.index.stories[0].id), headers=headers, **kwargs)
        assert_api_error(response, 403, "writes_disabled")
    assert len(service.index) == before


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {TOKEN[:-1]}"},
    {"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": f"Basic {TOKEN}"}, {"Authorization": TOKEN},
    {"Authorization": f"Bearer {TOKEN.upper()}"}, {"X-Token": TOKEN},
], ids=["none", "wrong", "prefix", "longer", "basic-scheme", "no-scheme", "wrong-case", "other-header"])
@pytest.mark.parametrize("method, path, kwargs", WRITES, ids=["add", "delete"])
def test_writes_without_the_right_token_are_refused(writable, hashed_copy: Path, headers: dict, method: str,
                                                    path: str, kwargs: dict):
    service, api = writable
    manifest = (hashed_copy / "manifest.json").read_bytes()
    response = api.request(method, path.format(id=service.index.stories[0].id), headers=headers, **kwargs)
    assert_api_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert (hashed_copy / "manifest.json").read_bytes() == manifest


def test_token_is_compared_in_constant_time(writable, monkeypatch: pytest.MonkeyPatch):
    compared = []
    real = hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr("search.serving.api._routes.hmac.compare_digest", spy)
    _, api = writable
    assert api.post("/api/stories", json=STORY, headers={"Authorization": "Bearer guess"}).status_code == 401
    assert compared == [(b"guess", TOKEN.encode())]


def test_write_with_the_token_is_persisted_and_visible_to_the_next_search(writable, hashed_copy: Path):
    service, api = writable
    response = api.post("/api/stories", json=STORY, headers=AUTH)
    assert response.status_code == 200, response.text
    (story_id,) = response.json()["ids"]
    top = api.get("/api/search", params={"q": "ferry crews trafficking Lake Victoria", "k": 1}).json()["hits"][0]
    assert top["id"] == story_id
    assert story_id in {s.id for s in load_index(hashed_copy).stories}  # on disk, not only in memory

    assert api.delete(f"/api/stories/{story_id}", headers=AUTH).status_code == 200
    assert_api_error(api.get(f"/api/stories/{story_id}"), 404, "unknown_story")
    assert story_id not in {s.id for s in load_index(hashed_copy).stories}


def test_write_after_another_writer_changed_the_index_keeps_both(writable, hashed_copy: Path):
    """The command line writes while the server runs: the server's next write builds on it, nothing is lost."""
    service, api = writable
    gone = load_index(hashed_copy).stories[0].id
    SearchService.open(hashed_copy).delete([gone])
    response = api.post("/api/stories", json=STORY, headers=AUTH)
    assert response.status_code == 200, response.text
    (added,) = response.json()["ids"]
    on_disk = load_index(hashed_copy)
    assert added in on_disk and gone not in on_disk
    assert added in service.index and gone not in service.index


@pytest.mark.parametrize("body, status", [
    ([STORY | {"title": f"Story {i}"} for i in range(101)], 422),  # over the batch cap
    ([STORY | {"title": f"Story {i}", "body": "x" * 150_000} for i in range(8)], 413),  # over the body cap
    ([], 422), (STORY | {"id": "../../etc/passwd"}, 422), (STORY | {"date": "2023-02-30"}, 422),
    (STORY | {"title": "t" * 1001}, 422), (STORY | {"body": " \x00 "}, 422), ({"title": "no body"}, 422),
    (STORY | {"path": "/etc/passwd"}, 422),
], ids=["101-stories", "1.2MB", "empty-list", "path-id", "impossible-date", "long-title", "NUL-body", "no-body",
        "unknown-field"])
def test_bad_writes_are_refused_and_change_nothing(writable, hashed_copy: Path, body, status: int):
    _, api = writable
    manifest = (hashed_copy / "manifest.json").read_bytes()
    assert_api_error(api.post("/api/stories", json=body, headers=AUTH), status)
    assert_api_error(api.delete("/api/stories/no-such-story", headers=AUTH), 404, "unknown_story")
    assert (hashed_copy / "manifest.json").read_bytes() == manifest


@pytest.mark.parametrize("value, allowed", [("", False), (TOKEN, True)], ids=["empty", "set"])
def test_token_comes_from_the_environment(hashed_service: SearchService, monkeypatch: pytest.MonkeyPatch, value: str,
                                          allowed: bool):
    """Checked without writing: a refused write is 403/401, an allowed one gets past the token to validation."""
    monkeypatch.setenv("STORY_SEARCH_TOKEN", value)
    api = TestClient(create_api(hashed_service, Settings.from_env().write_token), raise_server_exceptions=False)
    response = api.post("/api/stories", json={"title": "no body"}, headers=AUTH)
    assert response.status_code == (422 if allowed else 403)


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("env, args, host", [
    ({}, [], "127.0.0.1"), ({"STORY_SEARCH_HOST": "0.0.0.0"}, [], "0.0.0.0"),
    ({"STORY_SEARCH_HOST": "0.0.0.0"}, ["--host", "127.0.0.2"], "127.0.0.2"),
], ids=["default", "environment", "flag-wins"])
def test_server_binds_to_this_machine_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch,
                                                            hashed_service: SearchService, env: dict, args: list[str],
                                                            host: str, workers: str):
    import uvicorn

    from search import cli
    from search.serving import _server

    bound: dict[str, object] = {}
    for name in ("STORY_SEARCH_HOST", "STORY_SEARCH_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(_server, "load_service", lambda index_dir: hashed_service)
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port, **kw: bound.update(host=host, port=port))
    monkeypatch.setattr(_server, "_bound", lambda host, port: bound.update(host=host, port=port))  # for the workers
    monkeypatch.setattr(_server, "serve_with_workers", lambda *args, **kwargs: None)
    assert cli.main(["serve", "-q", "--workers", workers, *args]) == 0
    assert bound == {"host": host, "port": 7860}


EVIL = "https://evil.example"


@pytest.mark.parametrize("path", ["/api/search", "/api/stories", "/", "/config", "/gradio_api/queue/join"])
def test_cors_is_closed_by_default(app_client, path: str):
    preflight = app_client.options(path, headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"})
    simple = app_client.get(path, headers={"Origin": EVIL})
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in simple.headers


def test_cors_opens_only_to_the_configured_origins(hashed_service: SearchService, monkeypatch: pytest.MonkeyPatch):
    from search.serving._server import create_app

    monkeypatch.setenv("STORY_SEARCH_CORS_ORIGINS", "https://news.example, https://desk.example")
    web = TestClient(create_app(hashed_service), base_url="http://127.0.0.1")
    friendly = web.get("/api/health", headers={"Origin": "https://desk.example"})
    assert friendly.headers["access-control-allow-origin"] == "https://desk.example"
    assert "access-control-allow-origin" not in web.get("/api/health", headers={"Origin": EVIL}).headers


# --- no path a client sends is ever opened ----------------------------------------------------------------
class _OpenedFiles:
    """Every file the process opens while active (a CPython audit hook: sees opens in every thread)."""

    def __init__(self) -> None:
        self.paths: list[str] | None = None
        self._lock = threading.Lock()
        sys.addaudithook(self._hook)  # hooks cannot be removed; inactive it costs one comparison

    def _hook(self, event: str, args: tuple) -> None:
        if event == "open" and self.paths is not None and isinstance(args[0], (str, bytes)):
            with self._lock:
                self.paths.append(str(args[0]))

    def __enter__(self) -> list[str]:
        self.paths = []
        return self.paths

    def __exit__(self, *_: object) -> None:
        self.paths = None


@pytest.fixture(scope="session")
def opened_files() -> _OpenedFiles:
    return _OpenedFiles()


SECRET = "clientpath-6f1c"  # a name no real file has: seeing it opened means a client chose a path


@pytest.mark.parametrize("method, path, kwargs", [
    ("GET", f"/api/stories/..%2F..%2F{SECRET}", {}), ("GET", f"/api/stories/%2Ftmp%2F{SECRET}", {}),
    ("GET", f"/api/stories/{SECRET}/similar", {}), ("POST", "/api/search", dict(json={"q": f"/tmp/{SECRET}"})),
    ("POST", "/api/embed", dict(json={"texts": [f"file:///tmp/{SECRET}"]})),
    ("GET", f"/gradio_api/file=/tmp/{SECRET}", {}), ("GET", f"/gradio_api/file=../../{SECRET}", {}),
    ("GET", f"/file=/tmp/{SECRET}", {}), ("GET", f"/{SECRET}", {}), ("GET", f"/static/..%2F{SECRET}", {}),
], ids=["story-id", "absolute-id", "similar-id", "question", "embed-text", "gradio-file", "gradio-file-relative",
        "file-route", "ui-path", "static-traversal"])
def test_no_client_sent_path_is_opened(app_client, opened_files: _OpenedFiles, method: str, path: str, kwargs: dict):
    bait = Path("/tmp") / SECRET  # exists, so a server that did follow the path would succeed in opening it
    bait.write_text("secret")
    try:
        with opened_files as paths:
            response = app_client.request(method, path, **kwargs)
        assert response.text != "secret"
        assert not [p for p in paths if SECRET in p], paths
    finally:
        bait.unlink()


def test_gradio_does_not_serve_index_files(app_client, hashed_service: SearchService):
    assert hashed_service.index_dir is not None
    manifest = hashed_service.index_dir.resolve() / "manifest.json"
    for path in (f"/gradio_api/file={manifest}", f"/file={manifest}"):
        response = app_client.get(path)
        assert response.status_code >= 400 and "corpus_fingerprint" not in response.text


def test_the_open_recorder_sees_other_threads(opened_files: _OpenedFiles, tmp_path: Path):
    """Guards the guard: the server answers in worker threads, so the recorder must see opens made there."""
    target = tmp_path / "seen.txt"
    target.write_text("x")
    with opened_files as paths:
        worker = threading.Thread(target=target.read_text)
        worker.start()
        worker.join()
    assert str(target) in paths

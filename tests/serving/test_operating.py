"""What the person running the server and the programs calling it meet: a taken port said plainly, metrics at
/metrics, JSON access lines, and API errors in words with one name for the question."""
from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from search.cli import main
from search.retrieval._service import SearchService
from search.serving import serve_in_background
from search.serving._server import create_app
from search.serving.api._routes import create_api
from tests.helpers import AUTH, ROOT, SMUGGLING, TOKEN, assert_api_error


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_serve_on_a_taken_port_is_one_error_naming_the_fix(tmp_path: Path, taken_port: int,
                                                           capsys: pytest.CaptureFixture) -> None:
    """Said before the index loads (it is missing here), not as "[Errno 98]" after "serving ... on"."""
    assert main(["serve", "--index-dir", str(tmp_path / "missing"), "--port", str(taken_port)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: port {taken_port} on 127.0.0.1 is taken by another program"), err
    assert f"--port {taken_port + 1}" in err and f"make run PORT={taken_port + 1}" in err and err[-1] == "\n"
    assert err.count("\n") == 1


def test_app_py_on_a_taken_port_says_the_same(tmp_path: Path, taken_port: int) -> None:
    run = subprocess.run([sys.executable, "app.py", "--index-dir", str(tmp_path / "missing"), "--port",
                          str(taken_port)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert f"error: port {taken_port} on 127.0.0.1 is taken by another program" in run.stderr


@pytest.fixture(scope="module")
def client(service: SearchService) -> TestClient:
    return TestClient(create_app(service), base_url="http://127.0.0.1", raise_server_exceptions=False)


def test_metrics_count_requests_errors_and_show_the_index(client: TestClient, service: SearchService) -> None:
    client.get("/api/search", params={"query": SMUGGLING, "k": 2})
    client.get("/api/stories/no-such-story")
    text = client.get("/metrics").text  # no token: metrics are for whoever runs the server
    assert 'story_search_requests_total{method="GET",route="/api/search",status="200"}' in text
    assert 'story_search_requests_total{method="GET",route="/api/stories/{story_id:story_id}",status="404"}' in text
    assert 'story_search_errors_total{kind="client",route="/api/stories/{story_id:story_id}"}' in text
    assert 'story_search_request_seconds_bucket{le="+Inf",method="GET",route="/api/search"}' in text
    assert f"story_search_stories {float(len(service.index))}" in text
    assert f"story_search_index_generation {float(service.index.generation or 0)}" in text
    assert "story_search_model_work_waiting" in text and "story_search_model_work_running" in text
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]


def test_model_work_is_counted_in_its_lane(client: TestClient) -> None:
    assert client.post("/api/embed", json={"texts": ["a migrant worker"]}).status_code == 200
    text = client.get("/metrics").text
    assert 'story_search_model_work_running{lane="embeddings"} 0.0' in text
    assert 'story_search_requests_total{method="POST",route="/api/embed",status="200"}' in text


def test_json_access_lines_on_request(service: SearchService, monkeypatch: pytest.MonkeyPatch,
                                      caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("STORY_SEARCH_ACCESS_LOG", "json")
    with caplog.at_level(logging.INFO, logger="search.access"):
        TestClient(create_app(service), base_url="http://127.0.0.1").get("/api/health")
    line = json.loads(next(r.getMessage() for r in caplog.records if r.name == "search.access"))
    assert {k: line[k] for k in ("method", "route", "path", "status")} == \
        {"method": "GET", "route": "/api/health", "path": "/api/health", "status": 200}
    assert line["ms"] >= 0 and line["time"]


def test_metrics_on_a_real_server(service: SearchService) -> None:
    with serve_in_background(service, wait_for_ui=False) as url:
        answer = httpx.get(url + "/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")


# --- the API's words ---------------------------------------------------------------------------------------------
def test_a_bad_date_or_id_is_explained_in_words_not_a_regex(client: TestClient, service: SearchService) -> None:
    message = assert_api_error(client.get("/api/search", params={"q": "x", "date_from": "1 Nov 2021"}), 422)
    assert message == "date_from: '1 Nov 2021' is not a date written as YYYY-MM-DD, e.g. 2021-11-01", message
    writer = TestClient(create_api(service, write_token=TOKEN), raise_server_exceptions=False)
    message = assert_api_error(writer.post("/api/stories", json={"id": "a b", "body": "text"}, headers=AUTH), 422)
    assert message.startswith("story.id: may hold letters, digits and . _ : - only"), message


def test_the_question_is_query_in_requests_as_in_answers_and_q_is_taken_too(client: TestClient) -> None:
    by_query = client.post("/api/search", json={"query": SMUGGLING, "k": 3})
    assert by_query.status_code == 200, by_query.text
    assert by_query.json()["query"] == SMUGGLING
    ids = [h["id"] for h in by_query.json()["hits"]]
    for answer in (client.get("/api/search", params={"query": SMUGGLING, "k": 3}),
                   client.get("/api/search", params={"q": SMUGGLING, "k": 3}),
                   client.post("/api/search", json={"q": SMUGGLING, "k": 3})):
        assert [h["id"] for h in answer.json()["hits"]] == ids
    both = assert_api_error(client.get("/api/search", params={"q": "a", "query": "b"}), 422)
    assert "send the question once, as `query` (or its short form `q`)" in both
    missing = assert_api_error(client.post("/api/search", json={"k": 3}), 422)
    assert "the question is missing: send it as `query` (or its short form `q`)" in missing
    unknown = assert_api_error(client.post("/api/search", json={"query": "a", "question": "b"}), 422)
    assert unknown == "question: is not a field of this request (the fields are listed at /docs)", unknown
    parameters = client.get("/openapi.json").json()["paths"]["/api/search"]["get"]["parameters"]
    assert "query" in {p["name"] for p in parameters}


def test_metrics_add_up_across_worker_processes(tmp_path: Path, hashed_index: Path) -> None:
    """With PROMETHEUS_MULTIPROC_DIR set (as for `serve --workers N`), /metrics in any process counts all."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    count = "from search.serving._metrics import REQUESTS; REQUESTS.labels('GET', '/api/search', '200').inc()"
    for _ in range(2):  # two workers, each answering one search
        subprocess.run([sys.executable, "-c", count], env=env, check=True, timeout=120)
    show = ("from search import SearchService; from search.serving._metrics import exposition; "
            f"print(exposition(SearchService.open({str(hashed_index)!r})).decode())")
    text = subprocess.run([sys.executable, "-c", show], env=env, check=True, timeout=120, capture_output=True,
                          text=True).stdout
    assert 'story_search_requests_total{method="GET",route="/api/search",status="200"} 2.0' in text, text
    assert "story_search_stories 44.0" in text

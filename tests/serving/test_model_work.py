"""Model work per request is bounded: questions are cut to what the model reads, texts and writes have token
budgets, searches are answered while the model works on a big request, and work a client gave up on is
dropped instead of done."""
from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from search import SearchService
from search.retrieval._service import QUESTION_TOKENS
from search.serving import serve_in_background
from search.serving.api import create_api
from search.serving.api._schemas import MAX_REQUEST_TOKENS, MAX_TEXT_TOKENS, MAX_WRITE_TOKENS
from tests.helpers import AUTH, TOKEN, assert_api_error


@pytest.fixture(scope="module")
def api(service: SearchService) -> TestClient:
    return TestClient(create_api(service, write_token=""), base_url="http://127.0.0.1")


def words(n: int) -> str:
    return " ".join(["migration"] * n)


def test_a_long_question_is_cut_to_what_the_model_reads_and_says_so(service: SearchService, api: TestClient):
    long = service.search(words(190), 3)
    assert long.truncated and service.embedder.token_counts([long.query], "query")[0] <= QUESTION_TOKENS
    assert not service.search("migration", 3).truncated
    body = api.get("/api/search", params={"q": words(190), "k": 2}).json()
    assert body["truncated"] is True and len(body["query"]) < len(words(190))
    assert api.get("/api/search", params={"q": "migration", "k": 2}).json()["truncated"] is False


def test_texts_to_embed_have_a_budget_each_and_together(api: TestClient, service: SearchService):
    one = words(MAX_TEXT_TOKENS)  # over the limit once the model's own tokens are added
    assert_api_error(api.post("/api/embed", json={"texts": [one]}), 422)
    assert_api_error(api.post("/api/similarity", json={"a": one, "b": "migration"}), 422)
    fits = words(MAX_TEXT_TOKENS // 2)
    many = [fits] * (2 * MAX_REQUEST_TOKENS // len(fits.split()))
    assert_api_error(api.post("/api/embed", json={"texts": many}), 413, "over_budget")
    assert_api_error(api.post("/api/similarity", json={"query": fits, "texts": many}), 413, "over_budget")
    assert api.post("/api/embed", json={"texts": [fits]}).status_code == 200


def test_a_write_has_a_budget(hashed_copy: Path):
    service = SearchService.open(hashed_copy)
    writer = TestClient(create_api(service, write_token=TOKEN), base_url="http://127.0.0.1")
    story = {"title": "Long", "body": words(4_000)}
    count = MAX_WRITE_TOKENS // 4_000 + 2
    stories = [story | {"title": f"Long story {i}", "body": f"{i} " + story["body"]} for i in range(count)]
    assert_api_error(writer.post("/api/stories", json=stories, headers=AUTH), 413, "over_budget")
    assert len(service.index) == 44


def test_searches_are_answered_while_a_maximal_embed_runs(service: SearchService):
    """The biggest embedding request the API takes keeps the model busy for seconds: a search sent meanwhile
    is answered before it, not after it."""
    texts = [words(MAX_TEXT_TOKENS // 2 - 8)] * (MAX_REQUEST_TOKENS // (MAX_TEXT_TOKENS // 2))
    with serve_in_background(service, wait_for_ui=False) as url, httpx.Client(base_url=url, timeout=120) as http:
        finished: list[str] = []
        with ThreadPoolExecutor(2) as pool:
            embedding = pool.submit(lambda: http.post("/api/embed", json={"texts": texts}))
            started = threading.Event()
            for _ in range(600):  # until the embed is under way (its texts are being embedded), up to a minute
                if service.embedder.texts_embedded or embedding.done():
                    started.set()
                    break
                threading.Event().wait(0.05)
            searched = http.get("/api/search", params={"q": "police training against migrant smuggling", "k": 3})
            finished.append("search" if not embedding.done() else "embed")
            assert searched.status_code == 200 and embedding.result().status_code == 200
        assert finished == ["search"], "the search waited for the embedding request"


def test_work_whose_client_hung_up_is_dropped(hashed_copy: Path):
    service = SearchService.open(hashed_copy)
    release, calls = threading.Event(), []
    real = service.embed

    def slow_embed(texts):
        calls.append(texts)
        assert release.wait(60)
        return real(texts)

    service.embed = slow_embed  # type: ignore[method-assign]
    with serve_in_background(service, wait_for_ui=False) as url:
        with ThreadPoolExecutor(3) as pool:
            busy = [pool.submit(httpx.post, f"{url}/api/embed", json={"texts": [f"text {i}"]}, timeout=60)
                    for i in range(2)]  # the lane's two places
            for _ in range(600):
                if len(calls) == 2:
                    break
                threading.Event().wait(0.05)
            with pytest.raises(httpx.ReadTimeout):  # queued behind them, then given up on
                httpx.post(f"{url}/api/embed", json={"texts": ["given up"]}, timeout=1)
            release.set()
            assert all(f.result().status_code == 200 for f in busy)
        # The lane is first come, first served: a request sent now has its turn after the abandoned one's.
        assert httpx.post(f"{url}/api/embed", json={"texts": ["after"]}, timeout=60).status_code == 200
    assert sorted(t for texts in calls for t in texts) == ["after", "text 0", "text 1"]


def test_the_operating_guide_states_the_lanes_the_code_has():
    """docs/operating.md said 4 writes at once while the code allowed 16."""
    from search.serving.api._routes import EMBEDDERS, WRITERS
    from tests.helpers import ROOT

    guide = " ".join((ROOT / "docs" / "operating.md").read_text(encoding="utf-8").split())
    stated = re.search(r"at most (\d+) writes and (\d+) embedding requests", guide)
    assert stated and (int(stated[1]), int(stated[2])) == (WRITERS, EMBEDDERS), stated

"""The JSON API on the session's seed index, every endpoint and every error: through FastAPI's TestClient, and
through a real `serve --workers 2` on loopback (the contract holds whichever process answers)."""
from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from search.collection._build import build_index
from search.retrieval._service import MAX_K, MAX_QUERY_CHARS, SearchService
from search.serving import serve_in_background
from search.serving.api._errors import MAX_BODY_BYTES
from search.serving.api._routes import create_api
from search.serving.api._schemas import MAX_BATCH, MAX_STORIES_PER_POST
from tests.helpers import SMUGGLING, TOPIC_QUESTION, assert_api_error

JSON = {"content-type": "application/json"}


WORKERS = [1, 2]  # the API in this process (TestClient), and `serve --workers 2` on loopback
BY = ["in-process", "two-workers"]
# Starlette's TestClient is built on httpx2, not httpx: the two kinds of client share the calls the tests make.
ApiClient = TestClient | httpx.Client


@pytest.fixture(scope="module", params=WORKERS, ids=BY)
def api_client(service: SearchService, request: pytest.FixtureRequest) -> Iterator[ApiClient]:
    """A client of the API with writes switched off."""
    if request.param == 1:
        yield TestClient(create_api(service, write_token=""), raise_server_exceptions=False)
        return
    with pytest.MonkeyPatch.context() as env:  # the server reads its settings from the environment at start
        env.delenv("STORY_SEARCH_TOKEN", raising=False)
        with serve_in_background(service, workers=request.param, wait_for_ui=False) as url, \
                httpx.Client(base_url=url, timeout=120) as client:
            yield client


@pytest.fixture(scope="module")
def smuggling_id(service: SearchService) -> str:
    top = service.search(SMUGGLING, 1).hits[0].story
    assert "smuggling" in top.title.lower()
    return top.id


# --- reading ---------------------------------------------------------------------------------------------------
def test_health(api_client: TestClient, service: SearchService) -> None:
    body = api_client.get("/api/health").json()
    assert body["status"] == "ok"
    assert body["stories"] == len(service.index) and body["model"] == service.index.model_id
    assert body["dim"] == service.index.dim and body["index_type"]


def test_search_get_answers_with_the_documented_fields(api_client: TestClient) -> None:
    body = api_client.get("/api/search", params={"q": SMUGGLING, "k": 3}).json()
    assert body["query"] == SMUGGLING and isinstance(body["answerable"], bool) and body["took_ms"] >= 0
    assert len(body["hits"]) == 3
    assert {"id", "title", "score", "date", "place", "snippet", "highlights"} <= set(body["hits"][0])
    assert "smuggling" in body["hits"][0]["title"].lower()


def test_search_post_gives_the_same_hits_as_get(api_client: TestClient) -> None:
    got = api_client.get("/api/search", params={"q": SMUGGLING, "k": 5, "mode": "dense"}).json()
    posted = api_client.post("/api/search", json={"q": SMUGGLING, "k": 5, "mode": "dense"}).json()
    assert [h["id"] for h in posted["hits"]] == [h["id"] for h in got["hits"]]


def test_search_diversify_reaches_the_service(api_client: TestClient, service: SearchService) -> None:
    q = TOPIC_QUESTION
    want = [h.story.id for h in service.search(q, 10, diversify=True).hits]
    assert want != [h.story.id for h in service.search(q, 10).hits]
    for answer in (api_client.get("/api/search", params={"q": q, "diversify": "true"}),
                   api_client.post("/api/search", json={"q": q, "diversify": True})):
        assert [h["id"] for h in answer.json()["hits"]] == want


def test_search_filters_by_country_and_date(api_client: TestClient, service: SearchService) -> None:
    country = service.countries()[0]
    hits = api_client.get("/api/search", params={"q": "migration", "k": 50, "country": [country]}).json()["hits"]
    assert hits and all(country in h["countries"] for h in hits)
    body = {"q": "migration", "k": 50, "date_from": "2021-09-01", "date_to": "2021-11-10"}
    hits = api_client.post("/api/search", json=body).json()["hits"]
    assert hits and all("2021-09-01" <= h["date"] <= "2021-11-10" for h in hits)


def test_story_and_its_similar_stories(api_client: TestClient, smuggling_id: str) -> None:
    story = api_client.get(f"/api/stories/{smuggling_id}").json()
    assert story["id"] == smuggling_id and story["body"] and story["titles"][0] == story["title"]
    similar = api_client.get(f"/api/stories/{smuggling_id}/similar", params={"k": 3}).json()
    assert similar["id"] == smuggling_id and len(similar["hits"]) == 3
    assert smuggling_id not in {h["id"] for h in similar["hits"]}
    assert any("smuggling" in h["title"].lower() for h in similar["hits"])


def test_story_list_pages_through_every_id(api_client: TestClient, service: SearchService) -> None:
    first = api_client.get("/api/stories", params={"limit": 2}).json()
    rest = api_client.get("/api/stories", params={"offset": 2, "limit": 1000}).json()
    assert first["total"] == len(service.index) and len(first["stories"]) == 2
    assert [s["id"] for s in first["stories"] + rest["stories"]] == [s.id for s in service.index.stories]


def test_similarity_pair_and_many(api_client: TestClient) -> None:
    same = api_client.post("/api/similarity", json={"a": SMUGGLING, "b": SMUGGLING}).json()
    assert same == {"score": pytest.approx(1.0, abs=1e-4)}
    texts = ["police courses on people smuggling", "citrus farm workers in Belize"]
    scores = api_client.post("/api/similarity", json={"query": SMUGGLING, "texts": texts}).json()["scores"]
    assert len(scores) == 2 and scores[0] > scores[1]


def test_embed_returns_unit_vectors_of_the_index_s_multilingual_model(api_client: TestClient,
                                                                      service: SearchService) -> None:
    body = api_client.post("/api/embed", json={"texts": ["one", "two"]}).json()
    assert body["model"] == service.text_model.model_id and body["dim"] == service.text_model.dim
    assert service.index.model_id.startswith(body["model"] + "+")  # the first of the index's pair
    vectors = np.array(body["vectors"])
    assert vectors.shape == (2, body["dim"]) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-3)


def test_openapi_documents_every_endpoint(api_client: TestClient) -> None:
    paths = api_client.get("/openapi.json").json()["paths"]
    assert {"/api/health", "/api/search", "/api/stories", "/api/stories/{story_id}",
            "/api/stories/{story_id}/similar", "/api/similarity", "/api/embed"} <= set(paths)
    assert {"get", "post"} <= set(paths["/api/search"]) and "delete" in paths["/api/stories/{story_id}"]
    assert api_client.get("/docs").status_code == 200


# --- errors ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("params", [{"q": ""}, {"q": "   "}, {"q": "\x00\x01"}, {}])
def test_empty_query_is_422(api_client: TestClient, params: dict) -> None:
    assert_api_error(api_client.get("/api/search", params=params), 422)
    assert_api_error(api_client.post("/api/search", json=params), 422)


def test_query_over_the_maximum_length_is_422(api_client: TestClient) -> None:
    assert "2000" in assert_api_error(api_client.get("/api/search", params={"q": "a" * (MAX_QUERY_CHARS + 1)}), 422)
    at_limit = {"q": "a " * (MAX_QUERY_CHARS // 2), "mode": "lexical"}  # lexical: no model time on 1,000 words
    assert api_client.get("/api/search", params=at_limit).status_code == 200


@pytest.mark.parametrize("k", [0, -1, MAX_K + 1, 2.5, "ten"])
def test_k_outside_1_to_100_is_422(api_client: TestClient, k) -> None:
    assert_api_error(api_client.get("/api/search", params={"q": "x", "k": k}), 422)
    assert_api_error(api_client.post("/api/search", json={"q": "x", "k": k}), 422)
    assert_api_error(api_client.get("/api/stories/any/similar", params={"k": k}), 422)


@pytest.mark.parametrize("body", [{"q": "x", "k": True}, {"q": "x", "k": "5"}, {"q": 5}, {"q": "x", "mode": "fuzzy"},
                                  {"q": "x", "date_form": "2021-01-01"}, {"q": "x", "date_from": "2021-02-30"},
                                  {"q": "x", "date_from": "21-1-1"}, ["q"]])
def test_wrong_field_types_and_unknown_fields_are_422(api_client: TestClient, body) -> None:
    assert_api_error(api_client.post("/api/search", json=body), 422)


def test_dates_in_the_wrong_order_are_422(api_client: TestClient) -> None:
    params = {"q": "x", "date_from": "2021-06-01", "date_to": "2021-01-01"}
    assert_api_error(api_client.get("/api/search", params=params), 422, "invalid_query")


@pytest.mark.parametrize("raw", [b"{bad", b'{"q": "x",}', b"", b"\xff\xfe"])
def test_malformed_json_is_422(api_client: TestClient, raw: bytes) -> None:
    assert_api_error(api_client.post("/api/search", content=raw, headers=JSON), 422)
    assert_api_error(api_client.post("/api/search", content=b"{bad", headers=JSON), 422, "invalid_json")


def test_lone_surrogates_are_422_not_500(api_client: TestClient) -> None:
    for path, raw in (("/api/search", b'{"q": "\\ud800 smuggling"}'), ("/api/embed", b'{"texts": ["\\udfff"]}'),
                      ("/api/similarity", b'{"a": "x", "b": "\\ud800"}')):
        assert_api_error(api_client.post(path, content=raw, headers=JSON), 422)


def test_unknown_story_is_404(api_client: TestClient) -> None:
    assert_api_error(api_client.get("/api/stories/no-such-id"), 404, "unknown_story")
    assert_api_error(api_client.get("/api/stories/no-such-id/similar"), 404, "unknown_story")


@pytest.mark.parametrize("body", [{"a": "x"}, {"query": "x"}, {"a": "x", "b": "y", "query": "z", "texts": ["t"]},
                                  {}, {"query": "x", "texts": []}, {"query": "x", "texts": [""]},
                                  {"query": "x", "texts": ["t"] * (MAX_BATCH + 1)}, {"a": "x", "b": 3}])
def test_similarity_refuses_bad_shapes(api_client: TestClient, body: dict) -> None:
    assert_api_error(api_client.post("/api/similarity", json=body), 422)


@pytest.mark.parametrize("body", [{"texts": []}, {"texts": ["ok", " "]}, {"texts": "one"}, {"text": ["x"]},
                                  {"texts": ["t"] * (MAX_BATCH + 1)}])
def test_embed_refuses_bad_batches(api_client: TestClient, body: dict) -> None:
    assert_api_error(api_client.post("/api/embed", json=body), 422)


def test_bodies_over_the_cap_are_413(api_client: TestClient) -> None:
    big = b'{"texts": ["' + b"a" * MAX_BODY_BYTES + b'"]}'
    assert_api_error(api_client.post("/api/embed", content=big, headers=JSON), 413, "body_too_large")

    def chunked():  # no Content-Length: the cap must count what actually arrives
        for _ in range(MAX_BODY_BYTES // 50_000 + 2):
            yield b"a" * 50_000

    assert_api_error(api_client.post("/api/embed", content=chunked(), headers=JSON), 413, "body_too_large")


def test_unknown_paths_and_methods_answer_in_the_error_format(api_client: TestClient) -> None:
    for path in ("/api/nothing/here", "/api", "/api/"):
        assert_api_error(api_client.get(path), 404, "not_found")
    assert api_client.post("/api/health").headers["allow"] == "GET, HEAD"  # HEAD: the served app's policy
    response = api_client.put("/api/search")
    assert_api_error(response, 405, "method_not_allowed")
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}


def test_unexpected_failures_are_a_plain_500(service: SearchService, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args, **_kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(service, "search", broken)
    response = TestClient(create_api(service), raise_server_exceptions=False).get("/api/search", params={"q": "x"})
    assert_api_error(response, 500, "internal_error")
    assert "secret internal detail" not in response.text


# --- writes ----------------------------------------------------------------------------------------------------
NEW_STORY = {"title": "Lighthouse keepers train coast guards in Atlantis", "id": "atlantis-1", "date": "2022-03-04",
             "body": "Lighthouse keepers of Atlantis trained the coast guard to rescue migrants lost at sea."}


def test_writes_are_switched_off_without_a_token(api_client: TestClient) -> None:
    assert "switched off" in assert_api_error(api_client.post("/api/stories", json=NEW_STORY), 403, "writes_disabled")
    assert_api_error(api_client.delete("/api/stories/anything", headers={"Authorization": "Bearer x"}), 403)


@pytest.fixture(scope="module")
def workers_writer(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """`serve --workers 2` over one copy of the seeds taking writes, shared by this module's write tests (each
    reads the count it starts from)."""
    folder = tmp_path_factory.mktemp("writes") / "index"
    shutil.copytree(seed_index, folder)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("STORY_SEARCH_TOKEN", "s3cret-token")
        with serve_in_background(folder, workers=2, wait_for_ui=False) as url, \
                httpx.Client(base_url=url, timeout=120) as client:
            yield client


@pytest.fixture(params=WORKERS, ids=BY)
def writer(request: pytest.FixtureRequest) -> ApiClient:
    """A client of the API that may write with the token `s3cret-token`, over a copy of the seeds."""
    if request.param > 1:
        return request.getfixturevalue("workers_writer")
    return TestClient(create_api(SearchService.open(request.getfixturevalue("index_copy")), "s3cret-token"),
                      raise_server_exceptions=False)


AUTH = {"Authorization": "Bearer s3cret-token"}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-token"},
                                     {"Authorization": "Basic s3cret-token"},
                                     [(b"Authorization", "Bearer s3crét".encode())]])
def test_writes_need_the_right_bearer_token(writer: TestClient, headers) -> None:
    response = writer.post("/api/stories", json=NEW_STORY, headers=headers)
    assert_api_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert_api_error(writer.delete("/api/stories/atlantis-1", headers=headers), 401)


def test_add_update_and_delete_a_story(writer: TestClient) -> None:
    before = writer.get("/api/health").json()["stories"]
    added = writer.post("/api/stories", json=NEW_STORY, headers=AUTH).json()
    assert added == {"ids": ["atlantis-1"], "story_count": before + 1}
    assert writer.get("/api/stories/atlantis-1").json()["date"] == "2022-03-04"
    hits = writer.get("/api/search", params={"q": "lighthouse keepers Atlantis", "k": 1}).json()["hits"]
    assert hits[0]["id"] == "atlantis-1"

    changed = {**NEW_STORY, "body": NEW_STORY["body"] + " The course ran for two weeks."}
    assert writer.post("/api/stories", json=[changed], headers=AUTH).json()["story_count"] == before + 1
    assert writer.get("/api/stories/atlantis-1").json()["body"].endswith("two weeks.")

    assert writer.delete("/api/stories/atlantis-1", headers=AUTH).json()["story_count"] == before
    assert_api_error(writer.get("/api/stories/atlantis-1"), 404, "unknown_story")
    assert_api_error(writer.delete("/api/stories/atlantis-1", headers=AUTH), 404, "unknown_story")


def test_a_batch_of_stories_sharing_a_title_gets_one_id_each(writer: TestClient) -> None:
    bodies = ["Coast guards of three island states trained in rescuing migrants at sea.",
              "Citrus farm workers in Belize received health checks and work permits."]
    ids = writer.post("/api/stories", json=[{"title": "Weekly update", "body": b} for b in bodies],
                      headers=AUTH).json()["ids"]
    assert len(set(ids)) == 2
    assert [writer.get(f"/api/stories/{i}").json()["body"] for i in ids] == bodies


def test_posting_a_story_under_the_id_it_has_updates_it(writer: TestClient, smuggling_id: str) -> None:
    story = writer.get(f"/api/stories/{smuggling_id}").json()
    posted = {"id": smuggling_id, "title": story["title"], "body": "Rewritten: the course trained 40 officers."}
    assert writer.post("/api/stories", json=posted, headers=AUTH).json()["ids"] == [smuggling_id]
    again = writer.get(f"/api/stories/{smuggling_id}").json()
    assert again["body"] == posted["body"] and set(story["sources"]) <= set(again["sources"])


def test_ids_holding_a_slash_are_reachable(tmp_path: Path) -> None:
    corpus = tmp_path / "news.jsonl"
    corpus.write_text("\n".join(json.dumps(r) for r in [
        {"id": "news/2021/01", "title": "Coast guards trained", "body": "Coast guards trained in sea rescue."},
        {"id": "news/2021/02", "title": "Citrus workers", "body": "Farm workers in Belize got work permits."},
    ]), encoding="utf-8")
    build_index([corpus], tmp_path / "index")
    api_client = TestClient(create_api(SearchService.open(tmp_path / "index"), "s3cret-token"),
                            raise_server_exceptions=False)
    assert api_client.get("/api/stories/news/2021/01").json()["title"] == "Coast guards trained"
    assert api_client.get("/api/stories/news%2F2021%2F01/similar").json()["hits"][0]["id"] == "news/2021/02"
    posted = {"id": "news/2021/02", "title": "Citrus workers", "body": "Farm workers in Belize got visas."}
    assert api_client.post("/api/stories", json=posted, headers=AUTH).json()["ids"] == ["news/2021/02"]
    assert api_client.delete("/api/stories/news/2021/01", headers=AUTH).json() == {"ids": ["news/2021/01"],
                                                                             "story_count": 1}


@pytest.mark.parametrize("body", [{"title": "no body"}, {**NEW_STORY, "extra": 1}, {**NEW_STORY, "id": "bad id/slash"},
                                  {**NEW_STORY, "date": "2022-13-01"}, [], [NEW_STORY] * (MAX_STORIES_PER_POST + 1)])
def test_bad_stories_are_422(writer: TestClient, body) -> None:
    assert_api_error(writer.post("/api/stories", json=body, headers=AUTH), 422)

"""`serve --workers N`: several processes answer, the home process writes, and none of it shows to a client.

The servers here are real: `serve_in_background(..., workers=2)` runs `serve --workers 2` in a process of its
own on a loopback port (a supervisor, a home process and two workers), as a person would start it. Writes
go through the home process; reads, the page and its direct events through whichever worker accepted the
connection; `gradio_client` through the queue, which lives in the home process.
"""
from __future__ import annotations

import os
import random
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

from search.cli import main
from search.collection import load_index
from search.serving import serve_in_background
from search.serving._home import goes_home
from tests.helpers import AUTH, SMUGGLING, TOKEN, assert_api_error, cpu_ticks, serving_processes

WORKERS = 2


def _until(condition: Callable[[], bool], timeout: float = 60.0, what: str = "the condition") -> None:
    """Wait for `condition` (polled), failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:.0f} s"
        time.sleep(0.05)


WORDS = ("ferry crews rehearse rescue drill coast guards harbour island storm shelter families border health "
         "workers permits return radio campaign risks journeys statistics ministries training police").split()


def _story(n: int) -> dict[str, str]:
    """A story of its own: words drawn for `n`, so no two are copies of each other (copies are merged)."""
    rng = random.Random(n)
    return {"title": f"Story {n}: " + " ".join(rng.choices(WORDS, k=6)), "body": " ".join(rng.choices(WORDS, k=40))}


@pytest.fixture
def folder(hashed_index: Path, tmp_path: Path) -> Path:
    target = tmp_path / "index"
    shutil.copytree(hashed_index, target)
    return target


def _served(folder: Path, monkeypatch: pytest.MonkeyPatch, wait_for_ui: bool) -> Iterator[str]:
    monkeypatch.setenv("STORY_SEARCH_TOKEN", TOKEN)
    with serve_in_background(folder, workers=WORKERS, wait_for_ui=wait_for_ui) as url:
        yield url


@pytest.fixture
def server(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """`serve --workers 2` over a private copy of the hashed seeds, writes allowed with `TOKEN`."""
    yield from _served(folder, monkeypatch, wait_for_ui=False)


@pytest.fixture
def page_server(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """`server`, once every process serves the page."""
    yield from _served(folder, monkeypatch, wait_for_ui=True)


def _running(names: list[str]) -> Callable[[], bool]:
    return lambda: set(names) <= set(serving_processes())


@pytest.mark.parametrize("method, path, home", [
    ("POST", "/api/stories", True), ("DELETE", "/api/stories/a/b", True), ("PUT", "/api/stories", True),
    ("GET", "/api/stories", False), ("GET", "/api/stories/x", False), ("HEAD", "/api/stories/x", False),
    ("OPTIONS", "/api/stories", False), ("POST", "/api/search", False), ("POST", "/api/embed", False),
    ("POST", "/gradio_api/queue/join", True), ("GET", "/gradio_api/queue/data", True),
    ("POST", "/gradio_api/cancel", True), ("POST", "/gradio_api/call/search", True),
    ("GET", "/gradio_api/heartbeat/abc", True), ("POST", "/gradio_api/run/search", False),
    ("POST", "/gradio_api/component_server", False), ("GET", "/config", False), ("GET", "/", False),
])
def test_what_goes_to_the_home_process(method: str, path: str, home: bool) -> None:
    assert goes_home(method, path) is home


def test_every_worker_answers_and_each_names_itself(server: str) -> None:
    names = serving_processes()
    assert set(names) == {"story-home", *(f"story-worker-{i}" for i in range(1, WORKERS + 1))}, names
    workers = [pid for name, pid in names.items() if name != "story-home"]
    before = {pid: cpu_ticks(pid) for pid in workers}

    def search(i: int) -> int:
        with httpx.Client(base_url=server, timeout=60) as fresh:  # a connection of its own: any worker takes it
            return fresh.get("/api/search", params={"q": f"{SMUGGLING} {i}", "k": 5}).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(search, range(240))) == {200}
    used = {pid: cpu_ticks(pid) - before[pid] for pid in workers}
    assert all(ticks >= 10 for ticks in used.values()), used  # each answered searches (10 ticks: 0.1 s of CPU)


def _searches_counted(metrics: str) -> float:
    line = next((line for line in metrics.splitlines()
                 if line.startswith('story_search_requests_total{method="GET",route="/api/search",status="200"}')), "")
    return float(line.rsplit(" ", 1)[1]) if line else 0.0


def test_metrics_count_every_workers_requests_whichever_answers(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing to set up: /metrics adds up all the processes' counts, kept in the index's cache while the server
    runs and removed with it."""
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    with serve_in_background(folder, workers=WORKERS) as server:
        assert [p.name for p in (folder / "cache").glob("metrics-*")], "no folder for the workers' counts"

        def search(i: int) -> int:
            with httpx.Client(base_url=server, timeout=60) as fresh:  # a connection of its own: any worker takes it
                return fresh.get("/api/search", params={"q": f"{SMUGGLING} {i}", "k": 3}).status_code

        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(search, range(120))) == {200}
        scrapes = [_searches_counted(httpx.get(server + "/metrics", timeout=60).text) for _ in range(8)]
        assert scrapes == [120.0] * 8, scrapes
    assert not list((folder / "cache").glob("metrics-*")), "the counts outlived the server"


def test_gradio_client_reaches_the_queue_in_the_home_process(page_server: str) -> None:
    ui = Client(page_server + "/", verbose=False)
    status, cards, *_ = ui.predict(SMUGGLING, [], None, None, 3, "hybrid", api_name="/search")
    assert "3 stories" in status and cards.count('class="card"') == 3
    panel = ui.predict("no-such-story", api_name="/related")
    assert 'role="alert"' in panel


def test_the_pages_events_are_direct_requests_any_worker_answers(page_server: str) -> None:
    server = page_server
    config = httpx.get(server + "/config", timeout=60).json()
    assert config["dependencies"] and not any(d["queue"] for d in config["dependencies"])
    search = next(d for d in config["dependencies"] if d["api_name"] == "search")
    answer = httpx.post(f"{server}/gradio_api/run/search", timeout=60,
                        json={"data": [SMUGGLING, [], "", "", 2, "hybrid", False], "fn_index": search["id"]})
    assert answer.status_code == 200 and "2 stories" in answer.json()["data"][0]


def test_a_write_is_read_at_once_on_its_connection_and_soon_on_every_other(server: str) -> None:
    with httpx.Client(base_url=server, timeout=60) as writer:
        story_id = writer.post("/api/stories", json=_story(1), headers=AUTH).raise_for_status().json()["ids"][0]
        assert writer.get(f"/api/stories/{story_id}").status_code == 200

    def everywhere() -> bool:
        with ThreadPoolExecutor(8) as pool:
            return set(pool.map(lambda _: httpx.get(f"{server}/api/stories/{story_id}", timeout=60).status_code,
                                range(16))) == {200}

    _until(everywhere, timeout=10, what="every worker serving the new story")


def test_adds_from_many_clients_all_commit_and_survive_a_restart(server: str, folder: Path) -> None:
    before = httpx.get(f"{server}/api/health", timeout=60).json()["stories"]

    def add(n: int) -> list[str]:
        with httpx.Client(base_url=server, timeout=120) as client:
            return client.post("/api/stories", json=_story(n), headers=AUTH).raise_for_status().json()["ids"]

    with ThreadPoolExecutor(12) as pool:
        ids = {i for ids in pool.map(add, range(100, 136)) for i in ids}
    assert len(ids) == 36
    _until(lambda: httpx.get(f"{server}/api/health", timeout=60).json()["stories"] == before + 36, timeout=10,
           what="the count reaching every worker")
    reopened = load_index(folder)
    assert len(reopened) == before + 36 and all(i in reopened for i in ids)


def test_writes_keep_the_token_and_the_limits(server: str) -> None:
    assert_api_error(httpx.post(f"{server}/api/stories", json=_story(2), timeout=60), 401, "unauthorized")
    assert_api_error(httpx.post(f"{server}/api/stories", json=_story(2), timeout=60,
                                headers={"Authorization": "Bearer wrong"}), 401, "unauthorized")
    oversized = httpx.post(f"{server}/api/stories", content=b"x" * 1_500_000, timeout=60,
                           headers={**AUTH, "Content-Type": "application/json"})
    assert_api_error(oversized, 413, "body_too_large")
    assert_api_error(httpx.post(f"{server}/api/stories", json={"title": "no body"}, headers=AUTH, timeout=60), 422)


def test_a_killed_worker_is_replaced_and_reads_go_on(server: str) -> None:
    killed = serving_processes()["story-worker-1"]
    os.kill(killed, signal.SIGKILL)
    _until(lambda: serving_processes().get("story-worker-1") not in (None, killed), what="a new worker-1")
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: httpx.get(f"{server}/api/health", timeout=60).status_code, range(32)))
    assert answers == [200] * 32


def test_a_killed_home_process_loses_no_acknowledged_write(server: str, folder: Path) -> None:
    """Writes keep coming while the home process is killed with SIGKILL mid-way: each write the server
    acknowledged is in the index afterwards, the index loads, and writes are taken again once the supervisor
    has started a new home process."""
    acknowledged: list[str] = []
    refused: list[int] = []
    stop = threading.Event()

    def keep_writing(offset: int) -> None:
        n = offset
        with httpx.Client(base_url=server, timeout=120) as client:
            while not stop.is_set():
                n += 10
                try:
                    answer = client.post("/api/stories", json=_story(n), headers=AUTH)
                except httpx.TransportError:
                    refused.append(-1)
                    continue
                if answer.status_code == 200:
                    acknowledged.extend(answer.json()["ids"])
                else:
                    assert answer.status_code in (502, 503), answer.text  # the writer restarting, said in the shape
                    assert_api_error(answer, answer.status_code)
                    refused.append(answer.status_code)

    writers = [threading.Thread(target=keep_writing, args=(1000 + i,)) for i in range(3)]
    for thread in writers:
        thread.start()
    try:
        _until(lambda: len(acknowledged) >= 6, what="some writes")
        home = serving_processes()["story-home"]
        os.kill(home, signal.SIGKILL)
        _until(lambda: serving_processes().get("story-home") not in (None, home), what="a new home process")
        count = len(acknowledged)
        _until(lambda: len(acknowledged) >= count + 6, what="writes taken again")
    finally:
        stop.set()
        for thread in writers:
            thread.join(timeout=120)
    reopened = load_index(folder)
    assert not [i for i in acknowledged if i not in reopened]
    assert len(reopened) >= len(set(acknowledged))


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_no_process_outlives_the_supervisor(folder: Path, how: int) -> None:
    import multiprocessing

    with serve_in_background(folder, workers=WORKERS, wait_for_ui=False):
        children = list(serving_processes().values())
        supervisor = next(p for p in multiprocessing.active_children() if p.name == "story-search serve")
        os.kill(supervisor.pid, how)  # type: ignore[arg-type]
        supervisor.join(timeout=60)
        _until(lambda: not any(Path(f"/proc/{pid}").exists() and _alive(pid) for pid in children), timeout=30,
               what="every child stopping")


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for its (dead) parent to be reaped by init."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_port_in_use_says_so_in_one_line(hashed_index: Path, capsys: pytest.CaptureFixture) -> None:
    from search.serving._server import loopback_socket

    with loopback_socket() as taken:
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--index-dir", str(hashed_index), "--port", str(port), "--workers", "2"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: port {port} on 127.0.0.1 is taken") and "Traceback" not in err, err

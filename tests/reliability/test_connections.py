"""Sockets that never finish cannot starve the server: silent connections, headers sent a byte at a time
(slowloris), bodies that never end and idle keep-alive connections are closed on deadlines, and past the cap
on open connections the one waiting longest makes room, while searches keep being answered and the log
stays a few lines. The fast runs here use small limits; the slow one floods the real `serve` with thousands.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from search import SearchService
from search.serving import serve_in_background
from search.serving._connections import SPARE_DESCRIPTORS, ConnectionLimits, uvicorn_options
from tests.helpers import ROOT, SMUGGLING, free_port, wait_for

REQUEST_START = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"  # no blank line: the headers never end
BODY_START = (b"POST /api/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
              b"Content-Length: 100\r\n\r\n{")  # 1 of 100 bytes
# The server says "100 Continue" once the app reads the body: from then on the connection is busy with it.
BODY_AWAITED = (b"POST /api/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100\r\nExpect: 100-continue\r\n\r\n")


@contextlib.contextmanager
def _server(service: SearchService, monkeypatch: pytest.MonkeyPatch, **limits: float) -> Iterator[tuple[str, int]]:
    """The app `serve` runs, in a thread, with these connection limits (set as an operator sets them)."""
    for field, value in limits.items():
        monkeypatch.setenv(f"STORY_SEARCH_{field.upper()}", str(value))
    with serve_in_background(service, wait_for_ui=False) as url:
        yield url, int(url.rsplit(":", 1)[1])


def _open(port: int, count: int, first: bytes = b"") -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        if first:
            sock.sendall(first)
        sockets.append(sock)
    return sockets


def _answer(sock: socket.socket, wait: float = 30) -> bytes:
    """What the server sends before closing (b"" when it closes without a word)."""
    sock.settimeout(wait)
    answer = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def _one_response(sock: socket.socket) -> bytes:
    """One whole response (its Content-Length long), leaving the connection open."""
    sock.settimeout(30)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length")))
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def _error(answer: bytes) -> tuple[int, str]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower(), answer
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message"}
    return int(head.split()[1]), error["code"]


def _searches(url: str, count: int = 10) -> list[int]:
    return [httpx.get(f"{url}/api/search", params={"q": SMUGGLING}, timeout=30).status_code for _ in range(count)]


def test_silent_and_slowloris_connections_past_the_cap_do_not_keep_searches_out(
        hashed_service: SearchService, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO)
    with _server(hashed_service, monkeypatch, max_connections=50, header_timeout=2) as (url, port):
        silent = _open(port, 300)
        slowloris = _open(port, 100, REQUEST_START)
        assert _searches(url) == [200] * 10
        assert _answer(silent[-1]) == b""  # closed without a word: it sent nothing
        assert _error(_answer(slowloris[-1])) == (408, "request_timeout")
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("search", "uvicorn", "asyncio")))
    assert "Traceback" not in caplog.text and len(logged) < 2_000, logged


def test_a_body_that_never_ends_is_answered_408(hashed_service: SearchService, monkeypatch: pytest.MonkeyPatch):
    with _server(hashed_service, monkeypatch, body_timeout=1) as (url, port):
        [slow] = _open(port, 1, BODY_START)
        assert _error(_answer(slow)) == (408, "request_timeout")
        assert _searches(url, 1) == [200]


def test_when_every_connection_is_busy_a_new_one_is_refused_at_once(hashed_service: SearchService,
                                                                    monkeypatch: pytest.MonkeyPatch):
    """Bodies still arriving hold their connections; a newcomer is told 503 at once, long before any of them
    runs out of time (the body deadline is 300 s, the newcomer waits 30 s at most)."""
    with _server(hashed_service, monkeypatch, max_connections=20, body_timeout=300) as (url, port):
        busy = _open(port, 20, BODY_AWAITED)
        for sock in busy:
            assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue")
        [newcomer] = _open(port, 1, b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert _error(_answer(newcomer)) == (503, "too_many_connections")
        for sock in busy:
            sock.close()
        deadline = time.monotonic() + 30
        while httpx.get(f"{url}/api/health").status_code != 200:  # room again once they are gone
            assert time.monotonic() < deadline
            time.sleep(0.1)


def test_keep_alive_connections_are_closed_idle_or_stalled(hashed_service: SearchService,
                                                           monkeypatch: pytest.MonkeyPatch):
    """After an answer, a connection that stays idle is closed; one that starts a second request and stalls
    (uvicorn stops its keep-alive timer at the first byte) gets its 408 too."""
    with _server(hashed_service, monkeypatch, idle_timeout=1, header_timeout=2) as (url, port):
        health = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        [stalled] = _open(port, 1, health)
        assert _one_response(stalled).startswith(b"HTTP/1.1 200")
        stalled.sendall(REQUEST_START)
        assert _error(_answer(stalled)) == (408, "request_timeout")
        [idle] = _open(port, 1, health)
        answered = _answer(idle)  # returns once the server closes: a timeout here would fail the test
        assert answered.startswith(b"HTTP/1.1 200") and answered.count(b"HTTP/1.1 ") == 1
        assert uvicorn_options(ConnectionLimits(idle_timeout=7))["timeout_keep_alive"] == 7


def test_the_cap_fits_the_process_s_file_descriptors():
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    fitted = ConnectionLimits(max_connections=10**5).within_descriptors()
    now, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert fitted.max_connections + SPARE_DESCRIPTORS <= max(now, soft)


@pytest.mark.slow
def test_thousands_of_stuck_sockets_against_serve(hashed_index: Path, tmp_path: Path):
    """The red team's flood, against `python -m search serve` as an operator runs it (default limits): silent
    connections, slowloris and never-ending bodies, 530 more every round for 30 s (over 10,000 in all), while a
    client searches between rounds."""
    log = tmp_path / "serve.log"
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "search", "serve", "--index-dir", str(hashed_index),
                                   "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    held: list[socket.socket] = []
    try:
        wait_for(url + "/api/health", server)
        answered, stop = [], time.monotonic() + 30
        while time.monotonic() < stop:
            # At most a round a second: never-ending bodies are busy connections for the 30 s body deadline,
            # and 30 a second stay under the cap of 1,000 even when one worker process accepts them all.
            round_ends = time.monotonic() + 1
            for count, first in ((300, b""), (200, REQUEST_START), (30, BODY_START)):
                held += _open_quietly(port, count, first)
            answered += _searches(url, 2)
            held = [s for s in held if _still_open(s)]
            time.sleep(max(0.0, round_ends - time.monotonic()))
        descriptors = len(os.listdir(f"/proc/{server.pid}/fd"))
        assert answered and set(answered) == {200}
        assert descriptors < ConnectionLimits().max_connections + SPARE_DESCRIPTORS
    finally:
        for sock in held:
            sock.close()
        server.terminate()
        server.wait(timeout=60)
    text = log.read_text(errors="replace")
    assert "Traceback" not in text and "Too many open files" not in text
    assert len(text) < 50_000, text[-3000:]


def _open_quietly(port: int, count: int, first: bytes) -> list[socket.socket]:
    """Like `_open`, for a flood: a connection the server already closed is not an error."""
    opened = []
    for _ in range(count):
        with contextlib.suppress(OSError):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            opened.append(sock)
            if first:
                sock.sendall(first)
    return opened


def _still_open(sock: socket.socket) -> bool:
    """Keep what the server has not closed; the test's own descriptors are finite too."""
    sock.setblocking(False)
    try:
        alive = sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        alive = True
    except OSError:
        alive = False
    if not alive:
        sock.close()
    return alive

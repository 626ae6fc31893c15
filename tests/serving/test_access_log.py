"""The access log of `serve` says which endpoints were called with which parameters, never what was asked:
a question is about someone, and a token put in a query string by mistake is a secret."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from search.serving._access_log import without_values
from tests.helpers import ROOT, free_port, wait_for

QUESTION = "asylum claims of Maria Lopez in Tapachula"
TOKEN = "s3cret-written-in-the-url-0123456789abcdef"


def test_the_access_log_keeps_no_question_and_no_token(hashed_index: Path, tmp_path: Path):
    log, port = tmp_path / "serve.log", free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STORY_SEARCH_TOKEN": "the-real-token-0123456789"}
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "search", "serve", "--index-dir", str(hashed_index),
                                   "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url + "/api/health", server)
        assert httpx.get(f"{url}/api/search", params={"q": QUESTION, "k": 3}).status_code == 200
        assert httpx.post(f"{url}/api/stories", params={"token": TOKEN}, json={"title": "t", "body": "b"}
                          ).status_code == 422  # refused: not a parameter of the endpoint
    finally:
        server.terminate()
        server.wait(timeout=60)
    text = log.read_text(errors="replace")
    assert '"GET /api/search?q=…&k=… HTTP/1.1" 200' in text and '"POST /api/stories?token=… HTTP/1.1" 422' in text
    assert "Tapachula" not in text and "Maria" not in text and TOKEN not in text


@pytest.mark.parametrize("target, logged", [
    ("/api/search?q=migrants+in+Panama&k=3", "/api/search?q=…&k=…"), ("/api/health", "/api/health"),
    (f"/api/stories?{TOKEN}", "/api/stories?…=…"), ("/api/stories?%ZZ", "/api/stories?…=…"),
])
def test_query_values_and_odd_names_are_hidden(target: str, logged: str):
    assert without_values(target) == logged

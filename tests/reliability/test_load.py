"""The HTTP API under load: 32 concurrent clients against the real app on loopback, with zero errors.

The short run is part of `make test`; the 30 s run that `benchmarks/load.py` reports by default is slow.
"""
from __future__ import annotations

import pytest

from benchmarks.load import require_loopback, run_load
from search import SearchService
from search.serving import serve_in_background


@pytest.mark.parametrize("duration", [pytest.param(3.0, id="3s"), pytest.param(30.0, id="30s", marks=pytest.mark.slow)])
def test_32_clients_get_answers_and_no_errors(hashed_service: SearchService, duration: float):
    with serve_in_background(hashed_service, wait_for_ui=False) as url:
        report = run_load(url, clients=32, duration=duration, max_requests=50_000)
    assert report["errors"] == 0, report["error_samples"]
    assert report["requests"] >= 32 and set(report["by_endpoint"]) == {"search_get", "search_post", "story",
                                                                         "similar", "health"}
    assert report["duration_s"] < duration + 60  # bounded: clients stop at the deadline


@pytest.mark.parametrize("url", ["http://example.com", "http://10.0.0.1:7860", "http://192.168.1.1"])
def test_load_tool_refuses_anything_but_loopback(url: str):
    with pytest.raises(SystemExit, match="only loopback"):
        require_loopback(url)

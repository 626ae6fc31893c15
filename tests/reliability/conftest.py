"""Fixtures for the reliability tests: small corpora for subprocess runs, API clients that may or may not write.

Subprocess runs (crash loops, CLI errors) pay ~2 s of model loading each, so they use a one-file corpus;
in-process tests reuse the session's seed index and the model the `service` fixture already loaded.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import SEEDS


@pytest.fixture(scope="session")
def seed_files() -> list[Path]:
    return sorted(SEEDS.glob("*.txt"))


@pytest.fixture
def small_corpus(tmp_path: Path, seed_files: list[Path]) -> Path:
    """One seed file: enough stories to answer the probes, cheap to index in a subprocess."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(seed_files[0], folder)
    return folder


TOKEN = "test-token-0123456789abcdef"


@pytest.fixture(scope="session")
def client(service):
    """The whole app (API and UI) as served, over the read-only seed index, with writes switched off."""
    from fastapi.testclient import TestClient

    from search.serving.server import create_app

    with pytest.MonkeyPatch.context() as env:  # the token is read once, when the app is made
        env.delenv("STORY_SEARCH_TOKEN", raising=False)
        app = create_app(service)
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def writable(index_copy: Path):
    """A service over a private index copy and an API client for it that may write (token configured)."""
    from fastapi.testclient import TestClient

    from search import SearchService
    from search.serving.api.routes import create_api

    service = SearchService.open(index_copy)
    return service, TestClient(create_api(service, write_token=TOKEN), raise_server_exceptions=False)

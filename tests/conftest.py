"""Fixtures: the seed corpus indexed once per test session, with the real default model and with the hashing
stand-in (`search.embedding._hashing`) for tests whose subject is not the model; clients of the app over them.

Tests that change an index work on a private copy (`index_copy`, `hashed_copy`), so session indexes stay as
built. Every other name a test imports comes from `tests.helpers`.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import DEV_QUERIES, SEEDS, TOKEN

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _seeds_indexed(tmp_path_factory: pytest.TempPathFactory, folder: str, model: str | None = None) -> Path:
    from search import build_index

    root = tmp_path_factory.mktemp(folder)
    build_index([SEEDS], root, model)
    return root


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeds indexed with the default model: for tests of what the model decides (ranking, quality)."""
    return _seeds_indexed(tmp_path_factory, "seed-index")


def _opened(root: Path):
    from search import SearchService

    return SearchService.open(root)


def _copied(root: Path, target: Path) -> Path:
    shutil.copytree(root, target)
    return target


@pytest.fixture(scope="session")
def service(seed_index: Path):
    """A read-only service over `seed_index`; never call add/delete on it."""
    return _opened(seed_index)


@pytest.fixture
def index_copy(seed_index: Path, tmp_path: Path) -> Path:
    """A private copy of `seed_index` for tests that add, delete or damage."""
    return _copied(seed_index, tmp_path / "index")


@pytest.fixture(scope="session")
def hashed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeds indexed with the hashing stand-in model: no weights, the same vectors on every machine."""
    return _seeds_indexed(tmp_path_factory, "hashed-index", "hashing")


@pytest.fixture(scope="session")
def hashed_service(hashed_index: Path):
    """A read-only service over `hashed_index`; never call add/delete on it."""
    return _opened(hashed_index)


@pytest.fixture
def hashed_copy(hashed_index: Path, tmp_path: Path) -> Path:
    """A private copy of `hashed_index` for tests that add, delete or damage."""
    return _copied(hashed_index, tmp_path / "hashed-index")


@pytest.fixture(scope="session")
def app_client(service) -> Iterator:
    """The whole app (API and UI) as `serve` builds it, over `service`, with writes switched off."""
    from fastapi.testclient import TestClient

    from search.serving._server import create_app

    with pytest.MonkeyPatch.context() as env:  # the token is read once, when the app is made
        env.delenv("STORY_SEARCH_TOKEN", raising=False)
        app = create_app(service)
    yield TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False)  # an allowed Host


@pytest.fixture
def writable(hashed_copy: Path):
    """A service over a private index copy and a client of its API that may write (the token is `TOKEN`)."""
    from fastapi.testclient import TestClient

    from search import SearchService
    from search.serving.api import create_api

    service = SearchService.open(hashed_copy)
    return service, TestClient(create_api(service, write_token=TOKEN), raise_server_exceptions=False)


@pytest.fixture(scope="session")
def dev_queries() -> Path:
    if not DEV_QUERIES.is_file():
        pytest.skip(f"development set not found at {DEV_QUERIES} (../shared beside the repo)")
    return DEV_QUERIES

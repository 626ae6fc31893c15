"""Shared fixtures: the seed corpus indexed once per test session with the real default model.

Tests that change an index work on their own copy (`index_copy`), so the session index stays as built.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
SHARED = ROOT.parent / "shared"
DEV_QUERIES = SHARED / "eval" / "dev_queries.jsonl"
DEV_RELATED = SHARED / "eval" / "dev_related.jsonl"
TOPIC_QUESTION = "labour migration programmes and initiatives in the region"  # many stories answer it: MMR reorders them


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from search.collection.build import build_index

    root = tmp_path_factory.mktemp("seed-index")
    build_index([SEEDS], root)
    return root


@pytest.fixture(scope="session")
def service(seed_index: Path):
    """A read-only service over the seed index; never call add/delete on it."""
    from search.retrieval.service import SearchService

    return SearchService.open(seed_index)


@pytest.fixture
def index_copy(seed_index: Path, tmp_path: Path) -> Path:
    """A private copy of the seed index for tests that add, delete or damage."""
    target = tmp_path / "index"
    shutil.copytree(seed_index, target)
    return target


@pytest.fixture(scope="session")
def dev_queries() -> Path:
    if not DEV_QUERIES.is_file():
        pytest.skip(f"development set not found at {DEV_QUERIES} (../shared beside the repo)")
    return DEV_QUERIES

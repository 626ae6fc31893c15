"""Fixtures for the reliability tests: small corpora for subprocess runs.

Subprocess runs (crash loops, CLI errors) pay the model's start-up each, so they use a one-file corpus;
in-process tests reuse the session's indexes.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import SEEDS


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

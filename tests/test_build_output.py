"""What a build tells the person running it: the collection's name and how to change it, repeated warnings
grouped with a count, merged copies counted, and an interrupted build's resumption said plainly."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from search import cli as cli_module
from search.collection import _build as build_module
from search.embedding import load_embedder
from tests.helpers import FailingAfter, cli

STORIES = 60


def _corpus(folder: Path, copies: int = 0, no_body: int = 0) -> Path:
    """A CSV of distinct stories, plus `copies` exact copies and `no_body` stories with a title alone."""
    path = folder / "scifact_abstracts.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["title", "body"])
        rows = [(f"Study {i} of cell signalling", f"Abstract {i}: protein kinase {i} regulates pathway {i * 7}.")
                for i in range(STORIES)]
        out.writerows(rows + rows[:copies] + [(f"Title only {i}", "") for i in range(no_body)])
    return path


def test_a_build_says_its_name_groups_warnings_and_counts_merged_copies(tmp_path: Path):
    corpus = _corpus(tmp_path, copies=7, no_body=12)
    run = cli("build", "--corpus", str(corpus), "--model", "hashing", "--no-map", "--index-dir", str(tmp_path / "ix"))
    assert run.returncode == 0, run.stderr
    err = run.stderr
    assert err.count("has no body") == 4, err  # three examples, then one line counting the rest
    assert "9 more like the 3 above (12 in all: story … has no body; indexed by its title only)" in err, err
    assert f"read {STORIES + 19:,} stories; merged 7 near-identical copies" in err, err
    assert "the page calls this collection 'Scifact abstracts' (change it with --name" in err, err
    assert "--examples FILE" in err


def test_an_interrupted_build_says_a_rerun_resumes_and_the_rerun_says_how_far_it_got(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    corpus = _corpus(tmp_path)
    args = ["build", "--corpus", str(corpus), "--model", "hashing", "--no-map", "--index-dir", str(tmp_path / "ix")]
    def interrupted(name: str) -> FailingAfter:
        return FailingAfter(load_embedder(name), 40, KeyboardInterrupt)

    monkeypatch.setattr(build_module, "load_embedder", interrupted)
    assert cli_module.main(args) == 130
    assert "interrupted: the index on disk is unchanged; the stories embedded so far are kept, and running the " \
           "same command again resumes" in capsys.readouterr().err
    monkeypatch.setattr(build_module, "load_embedder", load_embedder)
    assert cli_module.main(args) == 0
    assert f"resuming: 32 of {STORIES} already embedded" in capsys.readouterr().err  # whole batches of 32

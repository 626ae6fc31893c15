"""The README's commands, run as written: each `sh` block, pasted into a fresh shell in the project's folder
after `make run` (the shipped index built and served on 127.0.0.1:7860), must work.

The folder is stood in for by a temporary one holding what `make run` leaves: `.venv` (the Python running the
tests), `seeds/`, a built `index/`, a server on port 7860, and a `my_stories/` folder of the reader's own. The
`make` block itself is the set-up, not run here.
"""
from __future__ import annotations

import errno
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from search.retrieval._service import SearchService
from search.serving import serve_in_background
from tests.helpers import ROOT, SEEDS

README_PORT = 7860
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)
BLOCKS = [b for b in BLOCK.findall((ROOT / "README.md").read_text(encoding="utf-8")) if not b.startswith("make ")]
MY_STORIES = {"floods.txt": "Floods in the valley\n\nRiver floods forced families from their homes; aid arrived.",
              "harvest.txt": "A late harvest\n\nFarmers waited for rain before the harvest, and prices rose.",
              "schools.txt": "Schools reopen\n\nChildren went back to school after the storm closed the roads."}


@pytest.fixture(scope="module")
def project(seed_index: Path, service: SearchService, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    try:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", README_PORT))
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        pytest.skip(f"README COMMANDS NOT RUN: port {README_PORT}, the README's, is taken by another program")
    folder = tmp_path_factory.mktemp("clone")
    (folder / ".venv").symlink_to(Path(sys.prefix))
    (folder / "seeds").symlink_to(SEEDS)
    (folder / "index").symlink_to(seed_index)
    (folder / "my_stories").mkdir()
    for name, text in MY_STORIES.items():
        (folder / "my_stories" / name).write_text(text, encoding="utf-8")
    with serve_in_background(service, wait_for_ui=False, port=README_PORT):
        yield folder


def test_the_readme_has_command_blocks() -> None:
    assert len(BLOCKS) >= 2 and all(".venv/bin/python" in b or b.startswith("curl") for b in BLOCKS)


@pytest.mark.parametrize("block", BLOCKS, ids=[b.split("\n")[0][:50] for b in BLOCKS])
def test_a_readme_command_block_works_as_written(project: Path, block: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORY_SEARCH_")}
    env["PYTHONPATH"] = str(ROOT)  # this checkout's package, as `pip install -e` makes it in a real clone
    run = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", block], cwd=project, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, (block, run.stdout[-2000:], run.stderr[-2000:])
    assert "Traceback" not in run.stderr and "error:" not in run.stderr, run.stderr[-2000:]
    assert run.stdout.strip(), block

"""Slow: `build --ray` on a real two-node Ray cluster (a head and a second node on loopback, inside a network
namespace of their own) gives the index a local build gives, and resumes after losing a worker or the driver;
`--ray auto` writes nothing outside the index folder and the model cache."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from benchmarks.ray_cluster import LocalCluster, local_cluster, unavailable
from search import SearchService, build_index
from tests.helpers import DEV_QUERIES, ROOT, SEEDS

pytestmark = [pytest.mark.slow, pytest.mark.skipif(bool(unavailable()), reason=unavailable() or "")]
REUTERS = ROOT.parent / "shared" / "data" / "reuters21578"
STORIES = 2_000
WAIT_SECONDS = 900


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The seeds and the first 2,000 Reuters stories."""
    path = tmp_path_factory.mktemp("reuters") / "reuters.jsonl"
    with path.open("w", encoding="utf-8") as out:
        written = 0
        for shard in sorted(REUTERS.glob("corpus-*.jsonl")):
            for line in shard.read_text(encoding="utf-8").splitlines():
                if written < STORIES and line.strip():
                    out.write(line + "\n")
                    written += 1
    return [SEEDS, path]


@pytest.fixture(scope="module")
def local(corpus: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("local") / "index"
    build_index(corpus, root)
    return root


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with local_cluster(tmp_path_factory.mktemp("ray")) as running:  # a short path: Ray's sockets live there
        yield running


def assert_same_index(built: Path, local: Path) -> None:
    """Same stories under the same ids, vectors equal within rounding, the same answers to the dev questions."""
    ours, theirs = SearchService.open(built), SearchService.open(local)
    assert [s.id for s in ours.index.stories] == [s.id for s in theirs.index.stories]
    rows = np.flatnonzero(ours.index.live)
    np.testing.assert_allclose(ours.index.vectors_at(rows), theirs.index.vectors_at(rows), atol=1e-5)
    questions = [json.loads(line)["query"] for line in DEV_QUERIES.read_text().splitlines() if line.strip()]
    for question in questions:
        assert [h.story.id for h in ours.search(question, 10).hits] == \
            [h.story.id for h in theirs.search(question, 10).hits], question


def wait_for(condition, what: str, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert process is None or process.poll() is None, f"the build ended before {what}"
        assert time.monotonic() < deadline, f"waited {WAIT_SECONDS} s for {what}"
        time.sleep(0.2)


def cached_chunks(root: Path) -> int:
    return len(list((root / "cache").rglob("chunk-*.npz")))


def test_a_build_on_a_two_node_cluster_equals_a_local_build(cluster: LocalCluster, corpus: list[Path], local: Path,
                                                            tmp_path: Path):
    root = tmp_path / "index"
    done = cluster.run([*cluster.build("--index-dir", str(root), "--corpus", *map(str, corpus))], timeout=3600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "on 2 encoders across 2 Ray nodes" in done.stderr
    assert_same_index(root, local)


def test_a_lost_worker_and_a_killed_driver_cost_only_what_they_held(cluster: LocalCluster, corpus: list[Path],
                                                                   local: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch):
    root = tmp_path / "index"
    command = cluster.build("--index-dir", str(root), "--corpus", *map(str, corpus))
    env = {**cluster.env, "STORY_SEARCH_FLUSH_SECONDS": "0"}  # a chunk of the resume cache per shard
    log = tmp_path / "first.log"
    with log.open("w") as stderr:
        first = subprocess.Popen(["ip", "netns", "exec", cluster.namespace, *command], env=env, stderr=stderr,
                                 text=True)
        try:
            # A worker killed mid-build: its shards go to the other encoders and a new one starts on its node.
            wait_for(lambda: cached_chunks(root) >= 1, "the first shards", first)
            encoders = cluster.processes("ray::ShardEncoder")
            assert len(encoders) == 2
            os.kill(encoders[0], signal.SIGKILL)
            wait_for(lambda: "lost an encoder" in log.read_text(), "the lost encoder to be noticed", first)
            wait_for(lambda: cached_chunks(root) >= 4, "more shards", first)
            first.send_signal(signal.SIGKILL)  # then the driver itself, without a chance to clean up
        finally:
            first.kill()
            first.wait()
    held = cached_chunks(root)
    assert not (root / "manifest.json").exists()

    done = cluster.run(command, timeout=3600)
    assert done.returncode == 0, done.stderr[-3000:]
    resuming = re.search(r"resuming: ([\d,]+) of ([\d,]+) already embedded", done.stderr)
    embedding = re.search(r"embedded ([\d,]+) of ([\d,]+) stories", done.stderr)
    assert resuming is not None and embedding is not None, done.stderr[-3000:]
    resumed, total = (int(n.replace(",", "")) for n in resuming.groups())
    embedded = int(embedding.group(1).replace(",", ""))
    assert resumed >= held  # every shard that came back before the kill was kept
    assert resumed > 0 and embedded > 0 and resumed + embedded <= total
    assert_same_index(root, local)


def test_a_private_instance_writes_only_in_the_index_folder_and_the_model_cache(tmp_path: Path):
    # The index folder's path is too long for Ray's sockets, so the session goes to the (short) model cache.
    short = Path(tempfile.mkdtemp(prefix="rs-", dir="/tmp"))
    try:
        home, cache, root = short / "home", short / "cache", tmp_path / "index"
        home.mkdir()
        env = {**os.environ, "HOME": str(home), "STORY_SEARCH_CACHE": str(cache), "PYTHONPATH": str(ROOT),
               "HF_HUB_OFFLINE": "1"}
        env.pop("RAY_ADDRESS", None)
        done = subprocess.run([sys.executable, "-m", "search", "build", "--ray", "auto", "--model", "hashing",
                               "--index-dir", str(root)], env=env, capture_output=True, text=True, timeout=1800)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "on 1 encoders across 1 Ray nodes" in done.stderr
        assert not list(home.rglob("*"))  # no ~/.ray token, no usage statistics, nothing else
        assert [p.name for p in cache.iterdir()] == ["probe-vectors"]  # the Ray session was removed
        # The resume cache is gone; what stays in the folder's cache is the record of segments already verified.
        assert (root / "manifest.json").is_file() and not list((root / "cache").rglob("*.npz"))
        assert SearchService.open(root).search("migrants", 3).hits
    finally:
        shutil.rmtree(short, ignore_errors=True)
